"""The encryption filter (``egg:swiftcrypt#encryption``) and its parts:
the encrypter (PUT, POST), the decrypter (GET, HEAD, listings, account
and container metadata), tamper evidence, S3 and header rules.

The filters translate requests into calls on ``swiftcrypt.crypto``.
"""
