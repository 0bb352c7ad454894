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

from swiftcrypt.environ import header_name

# environ keys of the SSE-C headers (a prefix each: -algorithm, -key, -key-md5)
SSE_C_KEYS = ("HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION_CUSTOMER_",
              "HTTP_X_AMZ_COPY_SOURCE_SERVER_SIDE_ENCRYPTION_CUSTOMER_")

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
    """The (lower-case) name of a request's first SSE-C header, or None."""
    found = sorted(key for key in environ if key.startswith(SSE_C_KEYS))
    return header_name(found[0]).lower() if found else None


def sse_c_refusal(environ):
    """The 400 text for a write carrying SSE-C headers, or None."""
    name = sse_c_header(environ)
    return None if name is None else SSE_C_REFUSAL % name
