"""The Barbican key manager, through python-barbicanclient.

``BarbicanOptions.from_conf(conf)`` reads the connection options a
kms_keymaster config uses (the names of Swift's kms_keymaster, plus
``auth_type``, ``timeout``, ``retries`` and ``noauth_roles``);
``options_from_env()`` maps the usual ``OS_*`` variables onto those names.
``BarbicanKeyManager(options)`` implements the key-manager interface.

Authentication:
- ``auth_type = password`` (default): Keystone v3 password auth through
  keystoneauth1 at ``auth_endpoint``. Barbican's endpoint is taken from the
  Keystone catalog (service type ``key-manager``, ``barbican_region_name``)
  unless ``barbican_endpoint`` is set.
- ``auth_type = noauth``: a Barbican deployed without Keystone; requests go
  to ``barbican_endpoint`` for project ``project_id`` with the roles in
  ``noauth_roles`` (default ``member``, what Barbican's default policy wants
  of a secret's owner).

Every request has a timeout (``timeout`` seconds, default 10), so a hung
server cannot hang the caller. Errors become ``KeyManagerError``
subclasses with one-line messages; HTTP traffic is logged to a logger of
ours that never records bodies (whatever its level), and barbicanclient's
own ERROR lines are dropped (our exceptions say the same, once, with the
key id).
"""

import contextvars
import logging
import os
import time

from swiftcrypt.common.errors import ConfigError
from swiftcrypt.common.options import as_number
from swiftcrypt.keymanager.base import (
    AccessDenied,
    AuthenticationFailed,
    KeyManager,
    KeyManagerError,
    Secret,
    SecretInfo,
    SecretNotFound,
    ServerError,
    Unreachable,
    sort_infos,
)

DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 3
AUTH_TYPES = ("password", "noauth")
SERVICE_TYPE = "key-manager"
ORDER_WAIT = 30.0  # seconds to wait for a key order to complete
LIST_PAGE = 100

#: Keystone v3 password options, as Swift's kms_keymaster names them.
IDENTITY_OPTIONS = (
    "username", "password", "user_id", "user_domain_name", "user_domain_id",
    "project_name", "project_id", "project_domain_name", "project_domain_id",
    "domain_id", "domain_name", "trust_id",
)
#: All connection options (accepted by kms_keymaster).
CONNECTION_OPTIONS = IDENTITY_OPTIONS + (
    "auth_endpoint", "barbican_endpoint", "barbican_region_name", "auth_type",
    "timeout", "retries", "noauth_roles",
    # accepted for compatibility with Swift's kms_keymaster; see from_conf
    "reauthenticate", "api_class",
)
_BARBICAN_API_CLASSES = ("", "castellan.key_manager.barbican_key_manager.BarbicanKeyManager")

#: OS_* environment variables -> option names (first set one wins).
ENV_OPTIONS = (
    ("auth_endpoint", ("OS_AUTH_URL",)),
    ("username", ("OS_USERNAME",)),
    ("password", ("OS_PASSWORD",)),
    ("user_id", ("OS_USER_ID",)),
    ("user_domain_name", ("OS_USER_DOMAIN_NAME",)),
    ("user_domain_id", ("OS_USER_DOMAIN_ID",)),
    ("project_name", ("OS_PROJECT_NAME", "OS_TENANT_NAME")),
    ("project_id", ("OS_PROJECT_ID", "OS_TENANT_ID")),
    ("project_domain_name", ("OS_PROJECT_DOMAIN_NAME",)),
    ("project_domain_id", ("OS_PROJECT_DOMAIN_ID",)),
    ("domain_id", ("OS_DOMAIN_ID",)),
    ("domain_name", ("OS_DOMAIN_NAME",)),
    ("trust_id", ("OS_TRUST_ID",)),
    ("barbican_endpoint", ("OS_BARBICAN_ENDPOINT", "BARBICAN_ENDPOINT")),
    ("barbican_region_name", ("OS_REGION_NAME", "BARBICAN_REGION_NAME")),
    ("auth_type", ("OS_AUTH_TYPE",)),
)

_http_log = logging.getLogger("swiftcrypt.keymanager.http")
_http_log.setLevel(logging.INFO)  # keystoneauth logs requests at DEBUG: never bodies


class _NoBodies(logging.Filter):
    """keystoneauth logs request bodies (``REQ: curl ... -d '<body>'``) and
    text/JSON response bodies (``RESP BODY: <body>``) at DEBUG: a stored
    secret's base64 payload, a text secret read back. The level above keeps
    them out by default, but a logging config that sets ``swiftcrypt`` (or
    this logger) to DEBUG turns them on (dictConfig/fileConfig reset the
    level of existing child loggers), so the bodies are cut here whatever
    the level; methods, URLs, headers (tokens hashed) and statuses stay."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # not ours to judge; keystoneauth's are plain strings
            return True
        if message.startswith("RESP BODY:"):
            record.msg, record.args = "RESP BODY: (not logged)", ()
        elif message.startswith("REQ:") and " -d '" in message:
            record.msg, record.args = message.split(" -d '", 1)[0] + " -d (not logged)", ()
        return True


if not any(isinstance(f, _NoBodies) for f in _http_log.filters):
    _http_log.addFilter(_NoBodies())


class _DropClientErrors(logging.Filter):
    """barbicanclient logs every 4xx/5xx at ERROR (and chatter at INFO); we
    raise our own one-line error instead."""

    def filter(self, record):
        return record.levelno < logging.INFO


def _quiet_barbicanclient():
    for name in ("barbicanclient.client", "barbicanclient.v1.secrets",
                 "barbicanclient.v1.orders", "barbicanclient.base"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropClientErrors) for f in logger.filters):
            logger.addFilter(_DropClientErrors())


def options_from_env(environ=None):
    """The connection options found in ``OS_*`` environment variables."""
    environ = os.environ if environ is None else environ
    conf = {}
    for option, names in ENV_OPTIONS:
        for name in names:
            if environ.get(name):
                conf[option] = environ[name]
                break
    auth_type = conf.get("auth_type", "").lower()
    if auth_type in ("v3password", "password"):
        conf["auth_type"] = "password"
    elif auth_type in ("none", "noauth", "no_auth"):
        conf["auth_type"] = "noauth"
    return conf


class BarbicanOptions:
    """Validated connection options."""

    def __init__(self, auth_type="password", timeout=DEFAULT_TIMEOUT,
                 retries=DEFAULT_RETRIES, auth_endpoint=None, barbican_endpoint=None,
                 barbican_region_name=None, noauth_roles="member", **identity):
        self.auth_type = auth_type
        self.timeout = timeout
        self.retries = retries
        self.auth_endpoint = auth_endpoint
        self.barbican_endpoint = barbican_endpoint
        self.barbican_region_name = barbican_region_name
        self.noauth_roles = noauth_roles
        self.identity = {k: v for k, v in identity.items() if v}

    @classmethod
    def from_conf(cls, conf):
        """Read and check the options in ``conf``; ConfigError if wrong."""
        def get(name):
            value = conf.get(name)
            value = None if value is None else str(value).strip()
            return value or None

        auth_type = (get("auth_type") or "password").lower()
        if auth_type not in AUTH_TYPES:
            raise ConfigError("auth_type", "must be password or noauth, got %r" % auth_type)
        api_class = get("api_class") or ""
        if api_class not in _BARBICAN_API_CLASSES:
            raise ConfigError("api_class", "only Barbican is supported, got %r" % api_class)
        timeout = as_number(conf, "timeout", DEFAULT_TIMEOUT, minimum=0.001)
        retries = as_number(conf, "retries", DEFAULT_RETRIES, minimum=0, kind=int)
        identity = {name: get(name) for name in IDENTITY_OPTIONS}
        options = cls(
            auth_type=auth_type, timeout=timeout, retries=retries,
            auth_endpoint=get("auth_endpoint"), barbican_endpoint=get("barbican_endpoint"),
            barbican_region_name=get("barbican_region_name"),
            noauth_roles=get("noauth_roles") or "member", **identity)
        options.validate()
        return options

    def validate(self):
        ident = self.identity
        if self.auth_type == "noauth":
            if not self.barbican_endpoint:
                raise ConfigError("barbican_endpoint", "is required with auth_type = noauth")
            if not ident.get("project_id"):
                raise ConfigError("project_id", "is required with auth_type = noauth")
            return
        if not self.auth_endpoint:
            raise ConfigError(
                "auth_endpoint",
                "is required with auth_type = password (the Keystone URL, e.g. "
                "http://keystone:5000/v3); for a Barbican without Keystone set "
                "auth_type = noauth")
        if not ident.get("password"):
            raise ConfigError("password", "is required with auth_type = password")
        if not (ident.get("username") or ident.get("user_id")):
            raise ConfigError("username", "username or user_id is required")
        if ident.get("username") and not (
                ident.get("user_domain_name") or ident.get("user_domain_id")):
            raise ConfigError(
                "user_domain_name", "user_domain_name or user_domain_id is required "
                "with username (e.g. user_domain_name = Default)")
        if ident.get("project_name") and not (
                ident.get("project_domain_name") or ident.get("project_domain_id")):
            raise ConfigError(
                "project_domain_name", "project_domain_name or project_domain_id is "
                "required with project_name (e.g. project_domain_name = Default)")

    @property
    def project(self):
        """The project the credentials act for, for messages."""
        ident = self.identity
        return ident.get("project_name") or ident.get("project_id") or "(unscoped)"

    @property
    def user(self):
        ident = self.identity
        return ident.get("username") or ident.get("user_id") or "(none)"

    def __repr__(self):  # never the password
        return "<BarbicanOptions auth_type=%s endpoint=%s auth=%s project=%s>" % (
            self.auth_type, self.barbican_endpoint, self.auth_endpoint, self.project)


class Outcome:
    """What the key manager's responses said during one call: the status
    of the last one (see _translate). One per call, never per session: a
    session is shared by every request of the process, and under eventlet
    those interleave, so a status kept on it could be another call's."""

    __slots__ = ("status",)

    def __init__(self):
        self.status = None


#: The Outcome of the call running in this thread or green thread (greenlet
#: and threads each have their own context).
_OUTCOME = contextvars.ContextVar("swiftcrypt_keymanager_outcome", default=None)


def _session_class():
    from keystoneauth1 import session as ks_session

    class Session(ks_session.Session):
        """Records each response's status on the current call's Outcome."""

        def request(self, *args, **kwargs):
            outcome = _OUTCOME.get()
            if outcome is not None:
                outcome.status = None
            resp = super().request(*args, **kwargs)
            if outcome is not None:
                outcome.status = resp.status_code
            return resp

    return Session


def _seconds(value):
    return ("%g" % value) + " s"


class BarbicanKeyManager(KeyManager):
    """The key-manager interface over python-barbicanclient."""

    def __init__(self, options):
        _quiet_barbicanclient()
        _Session = _session_class()

        self.options = options
        headers = {}
        auth = None
        if options.auth_type == "noauth":
            headers["X-Roles"] = options.noauth_roles
        else:
            from keystoneauth1.identity import v3

            ident = options.identity
            auth = v3.Password(
                auth_url=options.auth_endpoint,
                username=ident.get("username"), user_id=ident.get("user_id"),
                password=ident.get("password"),
                user_domain_name=ident.get("user_domain_name"),
                user_domain_id=ident.get("user_domain_id"),
                project_name=ident.get("project_name"),
                project_id=ident.get("project_id"),
                project_domain_name=ident.get("project_domain_name"),
                project_domain_id=ident.get("project_domain_id"),
                domain_id=ident.get("domain_id"), domain_name=ident.get("domain_name"),
                trust_id=ident.get("trust_id"),
            )
        self.session = _Session(
            auth=auth, timeout=options.timeout, additional_headers=headers)
        self._client = None
        self.endpoint = options.barbican_endpoint

    # -- description and errors ---------------------------------------------

    @property
    def description(self):
        if self.endpoint:
            return "Barbican at %s" % self.endpoint
        return "Barbican (from the catalog of %s)" % self.options.auth_endpoint

    def _credentials(self):
        if self.options.auth_type == "noauth":
            return "project %s" % self.options.project
        return "user %s in project %s" % (self.options.user, self.options.project)

    def _translate(self, err, key_id, action, service=None, outcome=None):
        """Map a barbicanclient/keystoneauth exception to KeyManagerError;
        ``outcome`` is the failed call's own Outcome."""
        from barbicanclient import exceptions as bexc
        from keystoneauth1 import exceptions as kexc

        service = service or self.description
        timeout = _seconds(self.options.timeout)
        if isinstance(err, kexc.ConnectTimeout):
            return Unreachable(key_id, "%s did not answer within the timeout of %s"
                               % (service, timeout))
        if isinstance(err, kexc.ConnectFailure):
            return Unreachable(key_id, "%s is unreachable (connection failed; timeout %s)"
                               % (service, timeout))
        if isinstance(err, kexc.ConnectionError):
            return Unreachable(key_id, "%s is unreachable (%s; timeout %s)"
                               % (service, type(err).__name__, timeout))
        status = getattr(err, "status_code", None) or getattr(err, "http_status", None)
        if status is None and not isinstance(err, (bexc.HTTPError, kexc.ClientException)):
            # barbicanclient itself can fail reading an error body it does
            # not expect (KeyError on a 401 from keystonemiddleware): go by
            # the status of the response that came back.
            seen = outcome.status if outcome is not None else None
            status = seen if (seen or 0) >= 400 else None
            if status is None:
                return None
        if status == 401 or isinstance(err, (bexc.HTTPAuthError, kexc.Unauthorized)):
            if service.startswith("Keystone") or self.options.auth_type == "password":
                return AuthenticationFailed(
                    key_id, "%s refused the credentials of %s (401): check username, "
                    "password and domains" % (service, self._credentials()))
            return AuthenticationFailed(
                key_id, "%s requires authentication (401): it is deployed with Keystone, "
                "so set auth_type = password and the Keystone credentials" % service)
        if isinstance(err, (bexc.HTTPServerError, kexc.HttpServerError)) or (status or 0) >= 500:
            return ServerError(key_id, "%s answered with a server error (%s)"
                               % (service, status or "5xx"), status)
        if isinstance(err, kexc.EndpointNotFound):
            return KeyManagerError(
                key_id, "no %s endpoint in the Keystone catalog of %s (region %s): set "
                "barbican_endpoint" % (SERVICE_TYPE, self.options.auth_endpoint,
                                       self.options.barbican_region_name or "any"))
        if status == 404 and key_id is not None:
            return SecretNotFound(key_id, "not found in %s (404)" % service)
        if status == 403:
            need = ("read access to this secret" if action == "read"
                    else "permission to %s secrets" % action)
            return AccessDenied(
                key_id, "%s refused access (403) for %s: the credentials need %s"
                % (service, self._credentials(), need))
        if isinstance(err, (bexc.HTTPError, kexc.HttpError)) or status:
            detail = " ".join(str(err).split())[:200]
            return KeyManagerError(key_id, "%s refused to %s (%s): %s"
                                   % (service, action, status, detail), status)
        if isinstance(err, kexc.ClientException):
            return KeyManagerError(key_id, "%s: %s" % (service, " ".join(str(err).split())))
        return None

    def _call(self, func, key_id, action, service=None):
        outcome = Outcome()
        token = _OUTCOME.set(outcome)
        try:
            return func()
        except KeyManagerError:
            raise
        except Exception as err:
            mapped = self._translate(err, key_id, action, service=service, outcome=outcome)
            if mapped is None:
                raise
            raise mapped from err
        finally:
            _OUTCOME.reset(token)

    # -- connection ----------------------------------------------------------

    @property
    def client(self):
        """The barbicanclient Client, authenticating first if need be."""
        if self._client is None:
            from barbicanclient import client as bclient

            if self.options.auth_type == "password":
                keystone = "Keystone at %s" % self.options.auth_endpoint

                def authenticate():
                    self.session.get_token()
                    if not self.endpoint:
                        self.endpoint = self.session.get_endpoint(
                            service_type=SERVICE_TYPE, interface="public",
                            region_name=self.options.barbican_region_name)

                self._call(authenticate, None, "authenticate", service=keystone)
                if not self.endpoint:
                    raise KeyManagerError(
                        None, "no %s endpoint in the Keystone catalog of %s (region %s): "
                        "set barbican_endpoint" % (
                            SERVICE_TYPE, self.options.auth_endpoint,
                            self.options.barbican_region_name or "any"))
                kwargs = {}
            else:
                kwargs = {"project_id": self.options.identity["project_id"]}
            # The client asks the endpoint for its API version at once.
            self._client = self._call(
                lambda: bclient.Client(session=self.session, endpoint=self.endpoint,
                                       logger=_http_log, **kwargs),
                None, "connect")
        return self._client

    def _client_for(self, key_id, action):
        try:
            return self.client
        except KeyManagerError as err:
            if key_id is not None and err.key_id is None:
                raise type(err)(key_id, err.reason, err.status) from err.__cause__
            raise

    # -- the interface -------------------------------------------------------

    def get_secret(self, key_id):
        client = self._client_for(key_id, "read")

        def fetch():
            try:
                secret = client.secrets.get(key_id)
            except ValueError as err:
                raise SecretNotFound(
                    key_id, "is not a Barbican secret id (a UUID or a secret href is "
                    "expected)") from err
            # Metadata first (one request), then the payload.
            meta = Secret(
                key_id, None, secret_type=secret.secret_type, algorithm=secret.algorithm,
                bit_length=secret.bit_length, content_type=secret.payload_content_type,
                name=secret.name)
            if meta.content_type:
                meta.payload = secret.payload
            return meta

        return self._call(fetch, key_id, "read")

    def store_secret(self, payload, name=None, algorithm="aes", secret_type="symmetric"):
        if not isinstance(payload, bytes) or not payload:
            raise ValueError("payload must be non-empty bytes")
        client = self._client_for(None, "store")

        def store():
            secret = client.secrets.create(
                name=name, payload=payload, algorithm=algorithm,
                bit_length=len(payload) * 8, secret_type=secret_type)
            return secret_uuid(secret.store())

        return self._call(store, None, "store")

    def create_secret(self, name=None, algorithm="aes", bit_length=256):
        client = self._client_for(None, "create")

        def create():
            order = client.orders.create_key(
                name=name, algorithm=algorithm, bit_length=bit_length, mode="ctr",
                payload_content_type="application/octet-stream")
            order_ref = order.submit()
            deadline = time.monotonic() + ORDER_WAIT
            delay = 0.1
            while True:
                order = client.orders.get(order_ref)
                status = (order.status or "").upper()
                if status == "ACTIVE" and order.secret_ref:
                    return secret_uuid(order.secret_ref)
                if status == "ERROR":
                    raise KeyManagerError(
                        None, "%s could not generate the key: %s (%s)" % (
                            self.description, order.error_reason, order.error_status_code))
                if time.monotonic() > deadline:
                    raise KeyManagerError(
                        None, "%s did not complete key order %s within %s" % (
                            self.description, order_ref, _seconds(ORDER_WAIT)))
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

        return self._call(create, None, "create")

    def delete_secret(self, key_id):
        client = self._client_for(key_id, "delete")
        return self._call(lambda: client.secrets.delete(key_id), key_id, "delete")

    def list_secrets(self, name):
        client = self._client_for(None, "list")

        def listing():
            found, offset = [], 0
            while True:
                page = client.secrets.list(limit=LIST_PAGE, offset=offset, name=name,
                                           sort="created:asc")
                for secret in page:
                    # Barbican filters names with SQL LIKE ("_" and "%" are
                    # wildcards, and account names hold "_"): exact match here.
                    if secret.name == name:
                        found.append(SecretInfo(secret_uuid(secret.secret_ref), secret.name,
                                                secret.created))
                if len(page) < LIST_PAGE:
                    break
                offset += LIST_PAGE
            return sort_infos(found)

        return self._call(listing, None, "list")

    def close(self):
        self.session.session.close()


def secret_uuid(ref):
    """The id part of a secret href (the href itself if it has none)."""
    return ref.rstrip("/").rsplit("/", 1)[-1] if ref else ref
