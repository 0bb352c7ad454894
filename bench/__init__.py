"""Benchmarks for swiftcrypt: ``swiftcrypt bench`` or ``python -m bench``."""
