"""Tamper evidence for whole-object reads (``verify_body = true``).

Swift's crypto stores, beside each encrypted object, its plaintext MD5
(the etag) encrypted under the object key, and we also store an HMAC of
it (the Etag-Mac). Neither covers the body: AES-CTR is malleable, so a
flipped ciphertext bit decrypts to a flipped plaintext bit, and Swift
would serve it. With ``verify_body`` the encryption filter hashes the
decrypted body of every full ``200`` GET of an encrypted object and
compares it with the decrypted etag.

The comparison can only be made once the last byte has been decrypted,
but the status and headers are gone by then. So the final chunk is held
back: every chunk but the last is passed on as soon as the next one
arrives, and the last only after the hash matched. On a mismatch the
object is logged as corrupt and the iterator raises ``BodyCorrupt``,
which makes the WSGI server drop the connection: the client has
received fewer bytes than ``Content-Length`` and never a complete 200.
The status waits for the first chunk that may go out, so a body that
comes as one chunk (a small object, or one the decrypter hands over in
one batch) is checked before anything is sent, and a mismatch is a 500.

Ranged reads (206) are not verified: a range cannot be checked against a
hash of the whole object.
"""

import hmac

from swiftcrypt.common import etags
from swiftcrypt.common.checksums import md5
from swiftcrypt.common.httperrors import respond
from swiftcrypt.common.wsgicontext import call_app

# Set by the decrypter (handle_object) on a successful GET/HEAD of an
# object whose body it decrypts: the decrypted etag, or None when the
# stored crypto etag is missing.
DECRYPTED_ETAG = "swiftcrypt.decrypted_etag"


class BodyCorrupt(Exception):
    """The decrypted body does not hash to the object's decrypted etag."""


def verify_body(app, environ, start_response, logger, metrics_=None):
    """Call ``app`` (the decrypting stack) and verify a full-object body."""
    environ.pop(DECRYPTED_ETAG, None)  # never trust a note we did not see set
    resp = call_app(app, environ)
    if (resp.status_int != 200 or environ.get("REQUEST_METHOD") != "GET"
            or DECRYPTED_ETAG not in environ):
        return resp.send(start_response)
    expected = environ.pop(DECRYPTED_ETAG)
    verifying = VerifyingIter(resp.app_iter, expected, logger,
                              environ.get("PATH_INFO"), metrics_)
    try:
        verifying.prime()
    except BodyCorrupt:  # logged; nothing was sent yet
        verifying.close()
        return respond(start_response, 500, "The stored object is corrupt")
    except BaseException:
        verifying.close()
        raise
    resp.app_iter = verifying
    return resp.send(start_response)


class VerifyingIter:
    """Passes a body on, one chunk behind, hashing it; the last chunk goes
    out only if the MD5 of the whole body equals ``expected``."""

    def __init__(self, app_iter, expected, logger, path, metrics_=None):
        self._app_iter = app_iter
        self._expected = expected
        self._logger = logger
        self._path = path
        self._metrics = metrics_
        self.verified = False
        self._pieces = self._verified_pieces()
        self._first = None

    def prime(self):
        """Read on until the first chunk may go out (or the body is
        whole and verified); raises ``BodyCorrupt`` on a mismatch."""
        self._first = next(self._pieces, None)

    def __iter__(self):
        if self._first is not None:
            first, self._first = self._first, None
            yield first
        yield from self._pieces

    def _verified_pieces(self):
        digest = md5()
        held = None
        length = 0
        passed = False  # a chunk went out before this one
        for chunk in self._app_iter:
            if not chunk:
                continue
            digest.update(chunk)
            length += len(chunk)
            if held is not None:
                passed = True
                yield held
            held = chunk
        actual = digest.hexdigest()
        expected = self._expected
        if expected is None or not hmac.compare_digest(
                actual.encode("ascii"), etags.unquote(str(expected)).encode("latin-1")):
            # No MD5s in the line: the plaintext etag is encrypted at rest
            # for a reason, and logs travel further than disks.
            self._logger.error(
                "object %s is corrupt: its decrypted body (%d bytes) does not match "
                "its %s etag; %s",
                self._path, length, "missing" if expected is None else "decrypted",
                "response cut short" if passed else "answered 500")
            if self._metrics is not None:
                self._metrics.increment("failures.verify_body_mismatch")
            raise BodyCorrupt("body of %s does not match its etag" % self._path)
        self.verified = True
        if held is not None:
            yield held

    def close(self):
        self._pieces.close()
        close = getattr(self._app_iter, "close", None)
        if close is not None:
            close()
