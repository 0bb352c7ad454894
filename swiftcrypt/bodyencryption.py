"""Encrypting an object body as it streams, and the metadata that records
how (the crypto sysmeta the object server stores beside the ciphertext).

Pure: bytes in, bytes and dicts out; the WSGI encrypter drives it.
"""

import hashlib

from swiftcrypt import ciphers, cryptometa
from swiftcrypt.keyderivation import etag_mac

EMPTY_MD5 = hashlib.md5(b"").hexdigest()

BODY_META = "X-Object-Sysmeta-Crypto-Body-Meta"
ETAG = "X-Object-Sysmeta-Crypto-Etag"
ETAG_MAC = "X-Object-Sysmeta-Crypto-Etag-Mac"
OVERRIDE_ETAG = "X-Object-Sysmeta-Container-Update-Override-Etag"


class BodyEncrypter:
    """Encrypts one object body under a fresh random body key.

    Nothing is generated until the first non-empty chunk: a zero-byte
    object gets no body crypto-meta, as Swift's format has it.
    """

    def __init__(self, object_key, key_id):
        self._object_key = object_key
        self._key_id = key_id
        self._ctx = None
        self._meta = None
        self._plain_md5 = None
        self._cipher_md5 = None

    @property
    def started(self):
        """True once any body byte has been encrypted."""
        return self._ctx is not None

    def _start(self):
        body_key = ciphers.random_key()
        self._meta = cryptometa.new_meta()
        self._meta["body_key"] = ciphers.wrap_key(self._object_key, body_key)
        self._meta["key_id"] = self._key_id
        self._ctx = ciphers.encryptor(body_key, self._meta["iv"])
        self._plain_md5 = hashlib.md5()
        self._cipher_md5 = hashlib.md5()

    def update(self, chunk):
        """Encrypt the next chunk of plaintext; returns its ciphertext."""
        if not chunk:
            return chunk
        if self._ctx is None:
            self._start()
        self._plain_md5.update(chunk)
        ciphertext = self._ctx.update(chunk)
        self._cipher_md5.update(ciphertext)
        return ciphertext

    @property
    def plaintext_etag(self):
        return self._plain_md5.hexdigest() if self.started else None

    @property
    def ciphertext_etag(self):
        return self._cipher_md5.hexdigest() if self.started else None

    def body_footers(self):
        """The footers describing the encrypted body (empty if none was)."""
        if not self.started:
            return {}
        plain = self.plaintext_etag
        return {
            "Etag": self.ciphertext_etag,
            BODY_META: cryptometa.dump(self._meta),
            ETAG: cryptometa.encrypt_value(plain.encode("ascii"), self._object_key),
            ETAG_MAC: etag_mac(self._object_key, plain),
        }


def listing_etag_footer(listing_etag, body_was_encrypted, container_key, key_id):
    """The encrypted container-listing etag, or None when none is needed.

    An empty body's MD5 stays plain unless there was a body: it tells
    nothing, and Swift leaves it so.
    """
    if not listing_etag:
        return None
    if listing_etag == EMPTY_MD5 and not body_was_encrypted:
        return None
    return cryptometa.encrypt_value(
        listing_etag.encode("latin-1"), container_key, key_id=key_id)
