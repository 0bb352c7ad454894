"""The names the pieces agree on: crypto sysmeta headers, environ keys, the cipher.

One home for each: the encryption filter, the keymasters, ``rekey`` and the
store import these rather than spell them again. A leaf module (no imports),
so the pure core in ``crypto/`` can use it without pulling in WSGI code; it
lives in ``common/`` rather than ``crypto/format`` because half of it (the
environ keys) is how filters talk to each other, not the on-disk format.
"""

#: The only cipher the format names (``"cipher"`` in every crypto-meta).
CIPHER = "AES_CTR_256"

# -- Object sysmeta the encryption filter writes (the on-disk format) --------
#: The body's crypto-meta: its IV and its key wrapped by the object key.
BODY_META = "X-Object-Sysmeta-Crypto-Body-Meta"
#: The plaintext MD5, encrypted with the object key.
ETAG = "X-Object-Sysmeta-Crypto-Etag"
#: HMAC-SHA256 of the plaintext MD5 under the object key (conditional requests).
ETAG_MAC = "X-Object-Sysmeta-Crypto-Etag-Mac"
#: The etag the container listing shows (Swift's container-update override);
#: the encryption filter stores it encrypted with the container key.
OVERRIDE_ETAG = "X-Object-Sysmeta-Container-Update-Override-Etag"
#: The cipher and key id of the object's encrypted user metadata; each
#: value sits under this prefix plus ``-<name>``.
USER_META_SET = "X-Object-Transient-Sysmeta-Crypto-Meta"
#: Lower-case prefixes of every object crypto header (never shown to clients).
CRYPTO_PREFIXES = ("x-object-sysmeta-crypto-", "x-object-transient-sysmeta-crypto-")


def db_meta_prefix(level):
    """``"X-Account-Sysmeta-Crypto-Meta-"`` (``level`` "Account" or
    "Container"): where an encrypted account or container metadata value is
    stored, the user's header name after it."""
    return "X-%s-Sysmeta-Crypto-Meta-" % level


# -- WSGI environ keys --------------------------------------------------------
#: The keymaster's keys callback (Swift's name: the two interoperate).
KEYS_CALLBACK = "swift.callback.fetch_crypto_keys"
#: True: pass the request through without encrypting or decrypting.
CRYPTO_OVERRIDE = "swift.crypto.override"
#: The object server's hook for footers (Swift's name).
FOOTERS_CALLBACK = "swift.callback.update_footers"
#: The keys callback gives what a write would get, whatever the method
#: (``rekey`` asks on a HEAD; account_keymaster otherwise answers a read).
KEYS_FOR_WRITE = "swiftcrypt.keys_for_write"
#: A PUT's encrypting body (the encrypter's ``wsgi.input``) offering the
#: ciphertext MD5 to a store that reads it directly (common/environ.py).
BODY_HASH_OFFER = "swiftcrypt.body_hash_offer"
#: Set to True on an object GET or HEAD by an internal client (``rekey``):
#: swiftcrypt's decrypter replaces it with the response's headers as stored
#: (before decryption, a list of pairs), so one decrypted GET also shows
#: which secret each part was under. Still True after the call: no such
#: decrypter in the pipeline.
STORED_HEADERS = "swiftcrypt.stored_headers"
#: Where the object server finds the etag to evaluate conditions against
#: (the encrypter points it at the Etag-Mac): the header, and its environ key.
ETAG_IS_AT_HEADER = "X-Backend-Etag-Is-At"
ETAG_IS_AT = "HTTP_" + ETAG_IS_AT_HEADER.upper().replace("-", "_")
