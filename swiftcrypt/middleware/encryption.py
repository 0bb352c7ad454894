"""The ``encryption`` filter: its parts wired as one pipeline stage.

Writes go to the encrypter (objects; ``DbMetaEncrypter`` for account and
container metadata), object reads to the decrypter, account and container
reads to ``account_container_metadata`` (which hands a container GET's
listing to ``listings``).

Options: ``disable_encryption`` (stop encrypting new writes but keep
decrypting what is stored); ``verify_body`` (check each full GET's
decrypted body against its etag, see verify_body.py);
``encrypt_container_metadata`` and ``encrypt_account_metadata`` (encrypt
container or account user metadata, see crypto/account_container_metadata.py) with
``plain_container_metadata`` and ``plain_account_metadata`` (names, beyond
those Swift's middlewares need, to keep plain then).

For S3 clients behind s3api (s3.py): registers ``encryption`` in
swift_info as Swift's filter does, and refuses object writes carrying
SSE-C headers.
"""

from swiftcrypt.common import logs, metrics, names, options
from swiftcrypt.common.errors import ConfigError
from swiftcrypt.common.httperrors import respond
from swiftcrypt.common.swiftpath import request_parts, split_wsgi_path
from swiftcrypt.crypto.account_container_metadata import ACCOUNT, CONTAINER
from swiftcrypt.crypto.fast.ctr import ShortCtrCache
from swiftcrypt.crypto.fast.hmac import MacCache
from swiftcrypt.middleware import s3, verify_body
from swiftcrypt.middleware.account_container_metadata import AccountContainerDecrypter
from swiftcrypt.middleware.decrypter import Decrypter
from swiftcrypt.middleware.encrypter import DbMetaEncrypter, Encrypter, is_strong_etag
from swiftcrypt.middleware.listings import send_decrypted_listing

OVERRIDE = names.CRYPTO_OVERRIDE


class Encryption:
    """Routes each request to the encrypter (inbound) and decrypter."""

    def __init__(self, app, conf, logger=None):
        self.app = app
        self.logger = logger or logs.get_logger(conf, "encryption")
        self.disable_encryption = options.as_bool(conf, "disable_encryption")
        self.verify_body = options.as_bool(conf, "verify_body")
        self.metrics = metrics.metrics_for(conf, self.logger)
        # the object and container keys' ciphers and MACs, reused across requests
        self.ciphers = ShortCtrCache()
        self.macs = MacCache()
        self.decrypter = Decrypter(app, self.logger, self.ciphers, self.macs)
        self.db_reads = AccountContainerDecrypter(app, self.logger, send_decrypted_listing)
        self.encrypter = Encrypter(self.decrypter, self.logger, self.disable_encryption, app,
                                   self.ciphers, self.macs)
        self.decrypter.metrics = self.encrypter.metrics = self.metrics
        self.container_writes, self.account_writes = (DbMetaEncrypter(
            app, self.logger, level,
            options.as_bool(conf, "encrypt_%s_metadata" % level.kind)
            and not self.disable_encryption,
            plain_names(conf, level), self.db_reads) for level in (CONTAINER, ACCOUNT))

    def __call__(self, environ, start_response):
        override = environ.get(OVERRIDE)
        if override is not None and options.is_true(override):
            return self.app(environ, start_response)
        parts = request_parts(environ)
        if parts is None and _unreadable(environ.get("PATH_INFO", "")):
            # Swift's proxy refuses these too; passing them on would store
            # plaintext under a name no key can be derived from.
            return respond(start_response, 412, "Invalid UTF8 or contains NULL")  # Swift's words
        if parts is None:
            return self.app(environ, start_response)
        if parts[2] is None:  # account: off the object path, like the container branch
            if environ["REQUEST_METHOD"] in ("PUT", "POST"):
                return self.account_writes(environ, start_response)
            return self.db_reads(environ, start_response)
        if parts[3] is None:
            if environ["REQUEST_METHOD"] in ("PUT", "POST"):
                return self.container_writes(environ, start_response)
            return self.db_reads(environ, start_response)
        method = environ["REQUEST_METHOD"]
        if method in ("PUT", "POST"):
            refusal = s3.sse_c_refusal(environ)
            if refusal is not None:  # whether encrypting or not: a client key is never used
                return respond(start_response, 400, refusal)
        if self.verify_body and method == "GET":
            return verify_body.verify_body(
                lambda env, start: self.encrypter(env, start, parts),
                environ, start_response, self.logger, self.metrics)
        if method in ("GET", "HEAD") and not (
                environ.get("HTTP_IF_MATCH") or environ.get("HTTP_IF_NONE_MATCH")
                or is_strong_etag(environ.get("HTTP_IF_RANGE") or "")):
            # nothing for the encrypter to mask: straight to the decrypter
            return self.decrypter.handle_object(environ, start_response)
        return self.encrypter(environ, start_response, parts)


def _unreadable(path):
    """An account, container or object path (split_path gave None) that
    is not UTF-8: no key can be derived for it. (NULs are Swift's to
    judge: its proxy refuses them from clients but uses them itself for
    reserved names, e.g. object versioning.)"""
    return split_wsgi_path(path) is not None


def plain_names(conf, level=CONTAINER):
    """The ``plain_<level>_metadata`` option as PlainNames."""
    option = "plain_%s_metadata" % level.kind
    try:
        return level.plain_names(conf.get(option))
    except ValueError as err:
        raise ConfigError(option, str(err)) from None


def filter_factory(global_conf, **local_conf):
    """Paste entry point ``egg:swiftcrypt#encryption``."""
    conf = dict(global_conf, **local_conf)
    options.as_bool(conf, "disable_encryption")  # fail at start-up, not per request
    options.as_bool(conf, "verify_body")
    for level in (CONTAINER, ACCOUNT):
        options.as_bool(conf, "encrypt_%s_metadata" % level.kind)
        plain_names(conf, level)
    logger = logs.get_logger(conf, "encryption")
    # as Swift's filter does: s3api accepts SSE-S3 requests by this
    s3.register_encryption_info(not options.as_bool(conf, "disable_encryption"))

    def make_filter(app):
        return Encryption(app, conf, logger)

    return make_filter
