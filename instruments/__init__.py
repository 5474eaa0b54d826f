"""Instrument protocols and drivers: power analyzers over VISA, EV emulators over serial lines.

Knows nothing of specs, the runner or benches: a driver is built from a name, an address and options,
and speaks its instrument's own command set. Look drivers up by name in :mod:`instruments.registry`.
"""
