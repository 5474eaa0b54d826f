"""Benches: the bench file (TOML, validated), how a bench is opened, and the twin bench in `lab.twin`."""
