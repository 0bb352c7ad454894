"""swiftcrypt: transparent encryption at rest for Swift-style object storage."""

__version__ = "0.1.0"
