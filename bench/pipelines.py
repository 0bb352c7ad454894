"""The pipelines compared: no encryption, Swift's own filters, swiftcrypt.

Each is the keymaster + encryption filters over its own MemoryBackend,
with the same root secret (the formats are compatible, so one listing of
encrypted etags serves both implementations).
"""

import base64

from .backend import MemoryBackend

ROOT_SECRET = base64.b64encode(bytes(range(32))).decode("ascii")
NAMES = ("none", "swift", "swiftcrypt")
# Not run by default: swiftcrypt with ``verify_body = true`` (tamper.py).
OPTIONAL = ("swiftcrypt-verify",)


def swift_available():
    try:
        import swift.common.middleware.crypto  # noqa: F401
    except ImportError:
        return False
    return True


def build(name, backend):
    """Return the WSGI app of pipeline ``name`` over ``backend``."""
    conf = {"encryption_root_secret": ROOT_SECRET, "log_level": "ERROR"}
    if name == "none":
        return backend
    if name == "swift":
        from swift.common.middleware.crypto import filter_factory as enc_factory
        from swift.common.middleware.crypto.keymaster import filter_factory as km_factory
    elif name in ("swiftcrypt", "swiftcrypt-verify"):
        from swiftcrypt.keymasters.config_keymaster import filter_factory as km_factory
        from swiftcrypt.middleware.encryption import filter_factory as enc_factory
    else:
        raise ValueError("unknown pipeline %r" % name)
    extra = {"verify_body": "true"} if name == "swiftcrypt-verify" else {}
    encryption = enc_factory({}, log_level="ERROR", **extra)(backend)
    return km_factory({}, **conf)(encryption)


def available(names=NAMES):
    return [n for n in names if n != "swift" or swift_available()]


def make(name, chunk_size=65536, keep=True, verify=False):
    backend = MemoryBackend(chunk_size=chunk_size, keep=keep, verify=verify)
    return build(name, backend), backend
