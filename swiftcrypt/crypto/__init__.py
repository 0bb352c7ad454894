"""The crypto core: ciphers, key derivation, key ids, crypto-meta, body
encryption and the encrypted values of account and container metadata.

Pure code: no WSGI, no I/O. The filters (``swiftcrypt.middleware``) and
the re-keying tools (``swiftcrypt.rekey``) translate requests into calls
on it.
"""
