"""Makes this interpreter refuse MD5 as a FIPS-mode host's Python does.

Loaded by every interpreter started with this directory on PYTHONPATH
(the FIPS tier's subprocesses and their children). On a FIPS host OpenSSL
refuses MD5 unless Python asks for it with ``usedforsecurity=False``; this
machine has no FIPS provider (and ``fips=yes`` properties refuse SHA-256
and AES too), so the refusal is arranged here, at every way in: hashlib's
constructors, ``hashlib.new``, the OpenSSL and builtin backends behind them,
and HMAC with an MD5 digest.
"""

import hashlib
import hmac
import sys

FIPS_ERROR = "[digital envelope routines] unsupported"
_MD5_NAMES = ("md5", "_md5", "openssl_md5")


def _is_md5(name):
    if callable(name):
        name = getattr(name, "__name__", "")
    return isinstance(name, str) and name.lower().replace("-", "") in _MD5_NAMES


def _refuse():
    raise ValueError(FIPS_ERROR)


def _guard_constructor(original):
    def constructor(*args, usedforsecurity=True, **kwargs):
        if usedforsecurity:
            _refuse()
        return original(*args, usedforsecurity=False, **kwargs)
    constructor.__name__ = getattr(original, "__name__", "md5")
    return constructor


def _guard_new(original):
    def new(name, *args, usedforsecurity=True, **kwargs):
        if usedforsecurity and _is_md5(name):
            _refuse()
        return original(name, *args, usedforsecurity=usedforsecurity, **kwargs)
    return new


def _guard_hmac(original):
    # HMAC has no usedforsecurity flag: a FIPS host refuses HMAC-MD5 outright.
    def guarded(key, msg=None, digestmod=None, *args, **kwargs):
        if _is_md5(digestmod):
            _refuse()
        return original(key, msg, digestmod, *args, **kwargs)
    return guarded


def install():
    """Refuse MD5 without ``usedforsecurity=False`` everywhere it can be made."""
    hashlib.md5 = _guard_constructor(hashlib.md5)
    hashlib.new = _guard_new(hashlib.new)
    try:
        import _hashlib
    except ImportError:
        _hashlib = None
    if _hashlib is not None:
        _hashlib.openssl_md5 = _guard_constructor(_hashlib.openssl_md5)
        _hashlib.new = _guard_new(_hashlib.new)
        if hasattr(_hashlib, "hmac_new"):
            _hashlib.hmac_new = _guard_hmac(_hashlib.hmac_new)
    import _md5
    _md5.md5 = _guard_constructor(_md5.md5)
    hmac.new = _guard_hmac(hmac.new)
    original_digest = hmac.digest

    def digest(key, msg, digest):
        if _is_md5(digest):
            _refuse()
        return original_digest(key, msg, digest)
    hmac.digest = digest
    # hashlib's fallback to a builtin module by name (used when OpenSSL lacks
    # an algorithm) must not reach an unguarded _md5 either.
    get_builtin = getattr(hashlib, "__get_builtin_constructor", None)
    if get_builtin is not None:
        def builtin_constructor(name):
            constructor = get_builtin(name)
            return _guard_constructor(constructor) if _is_md5(name) else constructor
        hashlib.__get_builtin_constructor = builtin_constructor
    sys.fips_md5_guard = FIPS_ERROR


install()
