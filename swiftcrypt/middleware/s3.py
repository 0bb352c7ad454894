"""S3 clients through Swift's s3api, which sits before the encryption
filter and hands it Swift requests (doc/s3.md).

SSE-S3 (``x-amz-server-side-encryption: AES256``): s3api accepts it only
when the cluster's swift_info says encryption is on - the admin section
``encryption`` with ``enabled`` true, which Swift's encryption filter
registers and ``register_encryption_info`` registers the same way. Reads
answer with the header because the decrypter reports the cipher
(``X-Backend-Crypto-Cipher``) and s3api translates it.

SSE-C (``x-amz-server-side-encryption-customer-*``, and the
``x-amz-copy-source-...`` variant for a copy's source): s3api does not read
these headers; it passes them on in the Swift request, and Swift's
encryption would store the object under the cluster's keys, so a client
that believes its own key protects the object is misled. The filter
refuses such writes instead (``sse_c_header``); a Swift 400 reaches the S3
client as s3api's ``400 InvalidRequest`` with our message, the code AWS
itself gives for SSE-C parameters it will not apply.
"""

from swiftcrypt.common.environ import header_key

# The SSE-C headers: the object's own, then the copy source's
SSE_C_HEADERS = tuple(
    prefix + "server-side-encryption-customer-" + suffix
    for prefix in ("x-amz-", "x-amz-copy-source-")
    for suffix in ("algorithm", "key", "key-md5"))
_SSE_C_KEYS = tuple((header_key(name), name) for name in SSE_C_HEADERS)

SSE_C_REFUSAL = (
    "Server-side encryption with customer-provided keys (SSE-C) is not supported "
    "(%s): objects are encrypted with the cluster's keys, never a client's. "
    "Nothing was stored.")


def register_encryption_info(enabled):
    """Tell s3api (through Swift's swift_info registry, admin section
    ``encryption``) whether this filter encrypts new writes."""
    try:
        from swift.common.utils import register_swift_info
    except ImportError:  # no Swift: no s3api and no /info to tell
        return
    register_swift_info("encryption", admin=True, enabled=enabled)


def sse_c_header(environ):
    """The (lower-case) name of a request's first SSE-C header, or None.
    (Exact environ keys, as a WSGI server spells them: a PUT's cost is a
    few dict lookups, not a pass over its environ.)"""
    for key, name in _SSE_C_KEYS:
        if key in environ:
            return name
    return None


def sse_c_refusal(environ):
    """The 400 text for a write carrying SSE-C headers, or None."""
    name = sse_c_header(environ)
    return None if name is None else SSE_C_REFUSAL % name
