"""Built-in drivers; importing this package registers them."""
