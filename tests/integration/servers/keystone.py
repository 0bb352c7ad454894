"""A real Keystone (identity) server for the integration tests.

    from tests.integration.servers.keystone import KeystoneServer
    with KeystoneServer(workdir) as ks:          # installs (cached) and starts it
        ks.auth_url                              # http://127.0.0.1:PORT/v3
        ks.create_project("swift")               # -> project id
        ks.create_user("alice", "pw", "swift", roles=["member"])  # -> user id
        ks.register_service("key-manager", "barbican", "http://127.0.0.1:9311")
        ks.session(username="alice", password="pw", project_name="swift")
        ks.stop()

Keystone 30.0.0 runs in its own virtualenv (see ``venvs``) under gunicorn,
with a SQLite database and fernet keys in ``workdir``, bootstrapped with
user ``admin`` (password ``ADMIN_PASSWORD``) in project ``admin``, region
``RegionOne``, domain ``default``. Admin calls use the v3 REST API through
keystoneauth1. Construction raises ``ServerError`` if anything fails.
"""

import getpass
import grp
import os
import textwrap
from pathlib import Path

from tests.integration.servers import ServerError, ServerProcess, free_port, run_checked, venvs

REQUIREMENTS = ["keystone==30.0.0", "gunicorn"]
ADMIN_PASSWORD = "admin-secret-password"
REGION = "RegionOne"

_WSGI_MODULE = """\
# gunicorn entry point: keystone parses sys.argv, which gunicorn's would break
import sys
sys.argv = sys.argv[:1]
from keystone.wsgi.api import application  # noqa: E402,F401
"""


def venv():
    """The (cached) Keystone virtualenv."""
    return venvs.ensure("keystone", REQUIREMENTS, check=["-c", "import keystone.server.flask"])


class KeystoneServer:
    """Keystone on 127.0.0.1, started on construction (``start=True``)."""

    def __init__(self, workdir, start=True):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.auth_url = self.url + "/v3"
        self.admin_password = ADMIN_PASSWORD
        self.process = None
        self._admin = None
        if start:
            self.start()

    def _write_config(self):
        d = self.workdir
        for sub in ("fernet-keys", "fernet-receipts", "credential-keys"):
            (d / sub).mkdir(exist_ok=True)
        conf = d / "keystone.conf"
        conf.write_text(textwrap.dedent("""\
            [DEFAULT]
            debug = false
            [database]
            connection = sqlite:///{d}/keystone.db
            [token]
            provider = fernet
            [fernet_tokens]
            key_repository = {d}/fernet-keys
            [fernet_receipts]
            key_repository = {d}/fernet-receipts
            [credential]
            key_repository = {d}/credential-keys
            """).format(d=d))
        (d / "keystone_wsgi.py").write_text(_WSGI_MODULE)
        return conf

    def start(self):
        v = venv()
        conf = self._write_config()
        env = dict(os.environ, OS_KEYSTONE_CONFIG_FILES=str(conf), PYTHONPATH=str(self.workdir))
        manage = [v.bin("keystone-manage"), "--config-file", str(conf)]
        user = getpass.getuser()
        group = grp.getgrgid(os.getgid()).gr_name
        run_checked(manage + ["db_sync"], "keystone-manage db_sync", env=env)
        for setup in ("fernet_setup", "credential_setup"):
            run_checked(manage + [setup, "--keystone-user", user, "--keystone-group", group],
                        "keystone-manage " + setup, env=env)
        run_checked(manage + [
            "bootstrap", "--bootstrap-password", ADMIN_PASSWORD,
            "--bootstrap-admin-url", self.auth_url + "/",
            "--bootstrap-public-url", self.auth_url + "/",
            "--bootstrap-internal-url", self.auth_url + "/",
            "--bootstrap-region-id", REGION], "keystone-manage bootstrap", env=env)
        self.process = ServerProcess(
            "keystone",
            [v.bin("gunicorn"), "keystone_wsgi:application", "-b", "127.0.0.1:%d" % self.port,
             "-w", "1", "--timeout", "120", "--no-control-socket"],
            env=env, cwd=str(self.workdir), log_path=self.workdir / "server.log",
            ready_url=self.auth_url).start()
        return self

    def stop(self):
        if self.process is not None:
            self.process.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- identity administration ---------------------------------------------

    def session(self, username, password, project_name=None, project_id=None, timeout=30):
        """A keystoneauth1 Session for a user of the default domain."""
        from keystoneauth1 import session
        from keystoneauth1.identity import v3

        auth = v3.Password(
            auth_url=self.auth_url, username=username, password=password,
            user_domain_id="default", project_name=project_name, project_id=project_id,
            project_domain_id="default" if project_name else None)
        return session.Session(auth=auth, timeout=timeout)

    @property
    def admin(self):
        if self._admin is None:
            self._admin = self.session("admin", ADMIN_PASSWORD, project_name="admin")
        return self._admin

    def _api(self, method, path, **kwargs):
        resp = self.admin.request(self.auth_url + path, method, raise_exc=False, **kwargs)
        if resp.status_code >= 400:
            raise ServerError("keystone %s %s: %s %s" % (
                method, path, resp.status_code, resp.text[:300]))
        return resp.json() if resp.content else None

    def _find(self, kind, name):
        found = self._api("GET", "/%s?name=%s" % (kind, name))[kind]
        return found[0]["id"] if found else None

    def role_id(self, name):
        rid = self._find("roles", name)
        if rid is None:
            rid = self._api("POST", "/roles", json={"role": {"name": name}})["role"]["id"]
        return rid

    def create_domain(self, name):
        """Create (or find) domain ``name``; its id."""
        did = self._find("domains", name)
        if did is None:
            did = self._api("POST", "/domains", json={"domain": {"name": name}})["domain"]["id"]
        return did

    def create_project(self, name, domain_id="default"):
        """Create (or find) project ``name`` in ``domain_id``; its id."""
        found = self._api("GET", "/projects?name=%s&domain_id=%s" % (name, domain_id))["projects"]
        if found:
            return found[0]["id"]
        return self._api("POST", "/projects", json={
            "project": {"name": name, "domain_id": domain_id}})["project"]["id"]

    def project_id(self, name):
        return self._find("projects", name)

    def create_user(self, name, password, project, roles=("member",), domain_id="default"):
        """Create user ``name`` in ``domain_id`` with ``roles`` on project
        ``project`` of that domain (a name, created if need be); return the
        user id."""
        pid = self.create_project(project, domain_id)
        uid = self._api("POST", "/users", json={"user": {
            "name": name, "password": password, "domain_id": domain_id,
            "default_project_id": pid}})["user"]["id"]
        for role in roles:
            self._api("PUT", "/projects/%s/users/%s/roles/%s" % (pid, uid, self.role_id(role)))
        return uid

    def register_service(self, service_type, name, url):
        """Add a service and its public/internal/admin endpoints to the catalog."""
        sid = self._api("POST", "/services", json={"service": {
            "type": service_type, "name": name}})["service"]["id"]
        for interface in ("public", "internal", "admin"):
            self._api("POST", "/endpoints", json={"endpoint": {
                "service_id": sid, "interface": interface, "url": url,
                "region_id": REGION}})
        return sid

    def ec2_credentials(self, user_id, project_id):
        """New EC2 credentials (access, secret) of ``user_id`` on
        ``project_id``, as ``openstack ec2 credentials create`` makes them."""
        import json
        import uuid

        access, secret = uuid.uuid4().hex, uuid.uuid4().hex
        self._api("POST", "/credentials", json={"credential": {
            "type": "ec2", "user_id": user_id, "project_id": project_id,
            "blob": json.dumps({"access": access, "secret": secret})}})
        return access, secret

