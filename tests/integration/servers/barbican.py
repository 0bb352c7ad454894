"""A real Barbican (key manager) server for the integration tests.

    from tests.integration.servers.barbican import BarbicanServer

    # Barbican without Keystone: requests name their project in X-Project-Id
    with BarbicanServer(workdir) as barbican:        # installs (cached) + starts
        barbican.endpoint                            # http://127.0.0.1:PORT
        key_id = barbican.store_secret(os.urandom(32), project_id="swift")
        # kms_keymaster: auth_type = noauth, barbican_endpoint = barbican.endpoint,
        #                project_id = swift, key_id = <key_id>

    # Barbican behind a real Keystone (see keystone.KeystoneServer)
    ks = KeystoneServer(workdir / "keystone")
    barbican = BarbicanServer(workdir / "barbican", auth="keystone", keystone=ks)
    ks.create_user("swift", "pw", "swift-project", roles=["member"])
    key_id = barbican.store_secret(os.urandom(32),
                                   session=ks.session("swift", "pw", project_name="swift-project"))
    barbican.stop(); ks.stop()

``BarbicanServer(workdir, auth='noauth'|'keystone', keystone=None,
start=True)`` runs Barbican 23.0.0 from its own cached virtualenv under
gunicorn on 127.0.0.1 (a free port), with SQLite and the simple_crypto
plugin in ``workdir``. Its ``HOME`` is ``workdir`` (Barbican reads
``~/.barbican/barbican.conf`` at import and takes no arguments). In
keystone mode it creates a ``barbican`` service user and registers itself
as the ``key-manager`` service in the Keystone catalog.

Methods: ``stop()``, ``pause()``/``resume()`` (SIGSTOP/SIGCONT: a hung
server), ``client(project_id=None, session=None)`` (a barbicanclient
Client), ``store_secret(payload, project_id=None, session=None, ...)`` (the
new secret's id; bytes are stored as castellan and ``swiftcrypt keys
store`` store them: symmetric, AES, raw bytes), ``delete_secret``.
``ServerError`` if it cannot be installed or started.

No-auth mode gives requests the roles in ``X-Roles``; Barbican's default
policy wants ``member`` for a secret's owner, which ``client()`` sends.
"""

import base64
import os
import textwrap
from pathlib import Path

from tests.integration.servers import ServerError, ServerProcess, free_port, run_checked, venvs

REQUIREMENTS = ["barbican==23.0.0", "gunicorn"]
SERVICE_PASSWORD = "barbican-service-password"

# Barbican 23.0.0 in no-auth mode fails every /v1 request with
# "AttributeError: request_id" unless the webob request has that attribute.
_FIX_MODULE = """\
def filter_factory(global_conf, **local_conf):
    def make(app):
        def middleware(environ, start_response):
            attrs = environ.setdefault("webob.adhoc_attrs", {})
            attrs.setdefault("request_id", environ.get("openstack.request_id"))
            return app(environ, start_response)
        return middleware
    return make
"""

_PASTE = """\
[composite:main]
use = egg:Paste#urlmap
/: versions
/v1: v1

[pipeline:versions]
pipeline = request_id versionapp

[pipeline:v1]
pipeline = request_id request_id_attr {auth} microversion apiapp

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app

[app:versionapp]
paste.app_factory = barbican.api.app:create_version_app

[filter:request_id]
paste.filter_factory = oslo_middleware.request_id:RequestId.factory

[filter:request_id_attr]
paste.filter_factory = swiftcrypt_barbican_fix:filter_factory

[filter:unauthenticated-context]
paste.filter_factory = barbican.api.middleware.context:UnauthenticatedContextMiddleware.factory

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory

[filter:context]
paste.filter_factory = barbican.api.middleware.context:ContextMiddleware.factory

[filter:microversion]
paste.filter_factory = barbican.api.middleware.microversion:MicroversionMiddleware.factory
"""


def venv():
    """The (cached) Barbican virtualenv."""
    return venvs.ensure("barbican", REQUIREMENTS, check=["-c", "import barbican.api.app"])


class BarbicanServer:
    """Barbican on 127.0.0.1; see the module docstring."""

    def __init__(self, workdir, auth="noauth", keystone=None, start=True):
        if auth not in ("noauth", "keystone"):
            raise ValueError("auth must be 'noauth' or 'keystone'")
        if auth == "keystone" and keystone is None:
            raise ValueError("auth='keystone' needs a KeystoneServer")
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.auth = auth
        self.keystone = keystone
        self.port = free_port()
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.process = None
        if start:
            self.start()

    def _write_config(self):
        home = self.workdir
        conf_dir = home / ".barbican"
        conf_dir.mkdir(exist_ok=True)
        kek = base64.urlsafe_b64encode(os.urandom(32)).decode()
        text = textwrap.dedent("""\
            [DEFAULT]
            host_href = {endpoint}
            debug = false
            [database]
            connection = sqlite:///{home}/barbican.db
            [secretstore]
            enabled_secretstore_plugins = store_crypto
            [crypto]
            enabled_crypto_plugins = simple_crypto
            [simple_crypto_plugin]
            kek = {kek}
            """).format(endpoint=self.endpoint, home=home, kek=kek)
        if self.auth == "keystone":
            ks = self.keystone
            text += textwrap.dedent("""\
                [keystone_authtoken]
                auth_type = password
                auth_url = {auth_url}
                www_authenticate_uri = {auth_url}
                username = barbican
                password = {password}
                project_name = service
                user_domain_id = default
                project_domain_id = default
                """).format(auth_url=ks.auth_url, password=SERVICE_PASSWORD)
        (conf_dir / "barbican.conf").write_text(text)
        auth_filters = "authtoken context" if self.auth == "keystone" else (
            "unauthenticated-context")
        (conf_dir / "barbican-api-paste.ini").write_text(_PASTE.format(auth=auth_filters))
        (home / "swiftcrypt_barbican_fix.py").write_text(_FIX_MODULE)
        return conf_dir / "barbican-api-paste.ini"

    def start(self):
        v = venv()
        paste = self._write_config()
        if self.auth == "keystone":
            self.keystone.create_user("barbican", SERVICE_PASSWORD, "service",
                                      roles=("admin", "service"))
            self.keystone.register_service("key-manager", "barbican", self.endpoint)
        env = dict(os.environ, HOME=str(self.workdir), PYTHONPATH=str(self.workdir))
        run_checked([v.bin("barbican-manage"), "db", "upgrade"], "barbican-manage db upgrade",
                    env=env, cwd=str(self.workdir))
        self.process = ServerProcess(
            "barbican",
            [v.bin("gunicorn"), "--paste", str(paste), "-b", "127.0.0.1:%d" % self.port,
             "-w", "1", "--timeout", "120", "--no-control-socket"],
            env=env, cwd=str(self.workdir), log_path=self.workdir / "server.log",
            ready_url=self.endpoint + "/").start()
        return self

    def stop(self):
        if self.process is not None:
            self.process.stop()

    def pause(self):
        """Freeze the server (SIGSTOP): connections open, nothing answers."""
        self.process.pause()

    def resume(self):
        self.process.resume()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- client helpers --------------------------------------------------------

    def client(self, project_id=None, session=None, timeout=30):
        """A barbicanclient Client: no-auth for ``project_id``, or over a
        Keystone ``session`` (keystone mode)."""
        from barbicanclient import client
        from keystoneauth1 import session as ks_session

        if session is None:
            if self.auth == "keystone":
                raise ValueError("keystone mode: pass a Keystone session")
            if project_id is None:
                raise ValueError("no-auth mode: pass project_id")
            session = ks_session.Session(timeout=timeout,
                                         additional_headers={"X-Roles": "member"})
            return client.Client(session=session, endpoint=self.endpoint,
                                 project_id=project_id)
        return client.Client(session=session, endpoint=self.endpoint)

    def store_secret(self, payload, project_id=None, session=None, name="test secret",
                     secret_type="symmetric", algorithm="aes", bit_length=None, mode=None):
        """Store ``payload`` (bytes: raw; str: text/plain); return its id."""
        if bit_length is None and isinstance(payload, bytes):
            bit_length = len(payload) * 8
        barbican = self.client(project_id=project_id, session=session)
        secret = barbican.secrets.create(
            name=name, payload=payload, secret_type=secret_type, algorithm=algorithm,
            bit_length=bit_length, mode=mode)
        ref = secret.store()
        if not ref:
            raise ServerError("barbican returned no secret ref")
        return ref.rstrip("/").rsplit("/", 1)[-1]

    def delete_secret(self, key_id, project_id=None, session=None):
        self.client(project_id=project_id, session=session).secrets.delete(key_id)
