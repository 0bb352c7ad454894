"""Request headers as the WSGI environ holds them, and the body-hash
hand-off between the encrypter and a store in the same process."""

from swiftcrypt.common.names import BODY_HASH_OFFER


def header_key(name):
    """``X-Object-Meta-Color`` -> ``HTTP_X_OBJECT_META_COLOR``."""
    upper = name.upper().replace("-", "_")
    if upper in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return upper
    return "HTTP_" + upper


def header_name(key):
    """``HTTP_X_OBJECT_META_COLOR`` -> ``X-Object-Meta-Color``."""
    return "-".join(word.capitalize() for word in key[5:].split("_"))


def request_headers(environ):
    """All request headers as ``(name, value)`` pairs."""
    pairs = []
    for key, value in environ.items():
        if value is None:  # no header (keystonemiddleware sets some keys to None)
            continue
        if key.startswith("HTTP_"):
            pairs.append((header_name(key), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            pairs.append((key.replace("_", "-").title(), value))
    return pairs


# -- The body-hash hand-off ----------------------------------------------------
# A PUT through ``swiftcrypt serve`` used to hash its ciphertext twice: the
# encrypter hashed what it produced (for the footer Etag) and the store
# hashed what it wrote, then compared the two. In one process nothing
# travels between them that the comparison could catch, so the store may
# take over the encrypter's hash, on three conditions that together make
# "the bytes the store hashed and wrote" and "the bytes the encrypter
# produced" the same bytes in the same order:
#   1. the store reads its body from the very object the encrypter offered
#      (``environ["wsgi.input"] is offer``): no filter in between can have
#      replaced, wrapped or rewritten the stream;
#   2. the store takes the hash before the encrypter has produced a byte
#      (``accept_body_hash`` refuses otherwise), and hashes every byte it
#      writes, as it always does;
#   3. when the body ends, every byte the encrypter produced went to the
#      store: the encrypter compares its count with the store's
#      (``hashed.size``) and refuses the PUT with the same 422 as an etag
#      mismatch if they differ (someone else read from the stream).
# The footer Etag is then the store's own MD5 of what it wrote, so the
# stored etag is always MD5(the body on disk). Anywhere else - a Swift
# proxy (the object server gets the footer Etag over the network), Swift's
# encryption filters, no encryption, a filter replacing wsgi.input - no
# offer is taken and both sides hash and check as before.


def offer_body_hash(environ, body_input):
    """The encrypter offers to let a store below hash ``body_input``'s
    output (its ``wsgi.input``) instead of hashing it itself."""
    environ[BODY_HASH_OFFER] = body_input


def take_body_hash(environ, hashed):
    """A store about to read ``environ["wsgi.input"]`` says it hashes every
    byte it reads from it: ``hashed.etag`` (MD5 hex) and ``hashed.size``
    describe what it has read so far. True if the offer was taken: the
    body's producer then omits its own hash and vouches for the store's."""
    offer = environ.get(BODY_HASH_OFFER)
    if offer is None or offer is not environ.get("wsgi.input"):
        return False
    return offer.accept_body_hash(hashed)
