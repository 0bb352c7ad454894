"""MD5 as Swift uses it: an integrity check (etags), never security.

Every MD5 in swiftcrypt comes from here, created with
``usedforsecurity=False``: a FIPS-mode host's Python refuses MD5 without
that flag, and would then refuse to load the filters or store anything.
"""

import hashlib


def md5(data=b""):
    """A new MD5 hash object (for etags only), usable on FIPS hosts."""
    return hashlib.md5(data, usedforsecurity=False)


def md5_hex(data):
    """The hex MD5 of ``data`` (an etag)."""
    return md5(data).hexdigest()
