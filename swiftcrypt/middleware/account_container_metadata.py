"""Account and container reads: their encrypted user metadata
decrypted in GET and HEAD responses (the format is
``swiftcrypt.crypto.account_container_metadata``; the writes are the
encrypter's ``DbMetaEncrypter``), and a container GET's listing handed on
to be decrypted (``listings``).

Values stay readable whatever the ``encrypt_*_metadata`` options say now:
once written encrypted, they are decrypted.
"""

from swiftcrypt.common.errors import DecryptionFailed
from swiftcrypt.common.httperrors import respond
from swiftcrypt.common.swiftpath import request_parts
from swiftcrypt.common.wsgicontext import call_app
from swiftcrypt.crypto import account_container_metadata as acmeta
from swiftcrypt.crypto import keyids
from swiftcrypt.middleware.cors import expose_metadata_headers
from swiftcrypt.middleware.keycallback import KeysUnavailable, fetch_keys, keys_unavailable


def _send(environ, start_response, resp, logger):
    return resp.send(start_response)


class AccountContainerDecrypter:
    """Decrypts account and container GET/HEAD responses' metadata.

    ``send_listing(environ, start_response, resp, logger)`` sends a
    successful container GET's response (its listing); by default as it
    is. Other requests pass through.
    """

    def __init__(self, app, logger, send_listing=_send):
        self.app = app
        self.logger = logger
        self.send_listing = send_listing

    def __call__(self, environ, start_response):
        parts = request_parts(environ)
        if parts is None or parts[3] is not None \
                or environ["REQUEST_METHOD"] not in ("GET", "HEAD"):
            return self.app(environ, start_response)
        if parts[2] is None:
            return self.handle_account(environ, start_response)
        return self.handle_container(environ, start_response)

    def handle_account(self, environ, start_response):
        """Account GET/HEAD: decrypt account metadata (a listing's body
        holds no encrypted values)."""
        resp = call_app(self.app, environ)
        failed = self._decrypt_db_meta(environ, start_response, resp, acmeta.ACCOUNT)
        return failed if failed is not None else resp.send(start_response)

    def handle_container(self, environ, start_response):
        """Container GET/HEAD: decrypt container metadata, then the listing."""
        resp = call_app(self.app, environ)
        failed = self._decrypt_db_meta(environ, start_response, resp, acmeta.CONTAINER)
        if failed is not None:
            return failed
        if not resp.is_success or environ["REQUEST_METHOD"] != "GET":
            return resp.send(start_response)
        return self.send_listing(environ, start_response, resp, self.logger)

    def _decrypt_db_meta(self, environ, start_response, resp, level):
        """Decrypt ``level``'s metadata in ``resp``'s headers; the error
        response to send instead, or None."""
        if not level.has_encrypted(resp.headers):
            return None
        # always, option on or off: values stay readable once written
        try:
            self._replace_db_meta(environ, resp, level)
        except DecryptionFailed as err:
            resp.close()
            self.logger.error(
                "error decrypting %s metadata of %s (header %s, key id %s): %s",
                level.kind, environ.get("PATH_INFO"), err.header,
                keyids.describe(err.key_id), err.reason)
            return respond(start_response, 500, "Error decrypting %s metadata" % level.kind)
        except KeysUnavailable as err:
            resp.close()
            return keys_unavailable(self.logger, environ, start_response, err)
        return None

    @staticmethod
    def _replace_db_meta(environ, resp, level):
        keys = {}
        _version, account, container, _obj = request_parts(environ)

        def key_for(key_id):  # CryptoError: the value's fault, named by header
            cache_key = keyids.cache_key(key_id)
            if cache_key not in keys:
                # whatever the keymaster: a value moved from elsewhere stays unreadable
                keyids.check_db_key_id(key_id, account, container)
                keys[cache_key] = fetch_keys(environ, (level.kind,), key_id)[level.kind]
            return keys[cache_key]

        headers, exposed = level.decrypt_response_headers(resp.headers, key_for)
        if exposed and environ.get("HTTP_ORIGIN"):
            headers = expose_metadata_headers(headers, exposed)
        resp.headers = headers
