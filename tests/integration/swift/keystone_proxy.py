"""A Swift proxy as the reference deployment runs it: Keystone in the proxy
(keystonemiddleware's ``authtoken`` and Swift's ``keystoneauth``), the root
secret in a Barbican behind the same Keystone, read by a ``kms_keymaster``
that logs in to Keystone with a password (Red Hat OpenStack Platform,
"Encrypting Object Storage (swift) at-rest objects").

``Identities(keystone)`` makes, once per Keystone, the users, projects,
roles and domain that Swift's functional tests expect in Keystone mode
(test/sample.conf: tester, tester2, tester3, tester4 in a second domain,
the service user tester5, the reseller admin tester6) and the proxy's
service user. ``reference_sections(...)`` is the proxy's paste config
(everything after [DEFAULT]) with ``REFERENCE_PIPELINE`` as written;
``func_test_conf(...)`` the test.conf for Swift's functional tests.
doc/deployment.md shows this configuration.
"""

import textwrap

from tests.integration.swift_cluster import filter_section, swift_filter_section

REFERENCE_PIPELINE = (
    "catch_errors healthcheck proxy-logging cache ratelimit bulk tempurl formpost "
    "authtoken keystone staticweb copy container_quotas account_quotas slo dlo "
    "versioned_writes kms_keymaster encryption proxy-logging proxy-server")

#: The proxy's service user: authtoken validates tokens with it, the
#: kms_keymaster reads the root secret with it (as the reference does).
SERVICE_USER = ("swiftproxy", "swiftproxy-password")
SERVICE_PROJECT = "service"
OPERATOR_ROLES = ("admin", "swiftoperator")
RESELLER_ADMIN_ROLE = "ResellerAdmin"
SERVICE_PREFIX = "SERVICE"
SERVICE_ROLE = "service"
TEST_DOMAIN = "test-domain"

#: Swift's functional test users in Keystone mode, as test/sample.conf and
#: test_access_control.py describe them:
#: index -> (domain, project, user, password, role on that project)
FUNC_USERS = {
    1: ("default", "test", "tester", "testing", "admin"),
    2: ("default", "test2", "tester2", "testing2", "admin"),
    3: ("default", "test", "tester3", "testing3", "anotherrole"),  # no access
    4: (TEST_DOMAIN, "test4", "tester4", "testing4", "admin"),
    5: ("default", "test5", "tester5", "testing5", SERVICE_ROLE),
    6: ("default", "test", "tester6", "testing6", RESELLER_ADMIN_ROLE),
}


class Identities:
    """The proxy's and the functional tests' identities in ``keystone``;
    ``project_ids`` and ``user_ids`` map names to ids."""

    def __init__(self, keystone):
        self.keystone = keystone
        self.project_ids = {}
        self.user_ids = {}
        name, password = SERVICE_USER
        self.user_ids[name] = keystone.create_user(
            name, password, SERVICE_PROJECT, roles=("admin", SERVICE_ROLE))
        self.project_ids[SERVICE_PROJECT] = keystone.create_project(SERVICE_PROJECT)
        domains = {"default": "default", TEST_DOMAIN: keystone.create_domain(TEST_DOMAIN)}
        for domain, project, user, password, role in FUNC_USERS.values():
            self.user_ids[user] = keystone.create_user(
                user, password, project, roles=(role,), domain_id=domains[domain])
            self.project_ids[project] = keystone.create_project(project, domains[domain])

    def register_swift(self, proxy_url):
        """Put the proxy in the catalog as the object-store service (what a
        Keystone client's storage URL comes from)."""
        self.keystone.register_service(
            "object-store", "swift", proxy_url + "/v1/AUTH_%(project_id)s")


def authtoken_options(keystone):
    name, password = SERVICE_USER
    return {
        "paste.filter_factory": "keystonemiddleware.auth_token:filter_factory",
        "www_authenticate_uri": keystone.auth_url,
        "auth_url": keystone.url,
        "auth_type": "password",
        "username": name,
        "password": password,
        "project_name": SERVICE_PROJECT,
        "user_domain_id": "default",
        "project_domain_id": "default",
        # Swift's memcache client (the cache filter's), as Swift's docs say
        "cache": "swift.cache",
        "delay_auth_decision": "True",
        # keystonemiddleware's default since 13.0 (a user's token is no
        # service token), said here as operators should
        "service_token_roles_required": "True",
        "include_service_catalog": "False",
    }


def keystoneauth_options():
    return {
        "use": "egg:swift#keystoneauth",
        "operator_roles": ", ".join(OPERATOR_ROLES),
        "reseller_prefix": "AUTH, %s" % SERVICE_PREFIX,
        "%s_service_roles" % SERVICE_PREFIX: SERVICE_ROLE,
        "reseller_admin_role": RESELLER_ADMIN_ROLE,
    }


def kms_options(keystone, key_id):
    """kms_keymaster's options as the reference sets them (password auth,
    the Barbican endpoint from the Keystone catalog)."""
    name, password = SERVICE_USER
    return {
        "key_id": key_id,
        "username": name,
        "password": password,
        "project_name": SERVICE_PROJECT,
        "user_domain_name": "Default",
        "project_domain_name": "Default",
        "auth_endpoint": keystone.auth_url,
    }


S3API_OPTIONS = {"use": "egg:swift#s3api", "location": "us-east-1"}


def s3token_options(keystone):
    name, password = SERVICE_USER
    return {
        "use": "egg:swift#s3token",
        "auth_uri": keystone.auth_url,
        "auth_type": "password",
        "auth_url": keystone.url,
        "username": name,
        "password": password,
        "project_name": SERVICE_PROJECT,
        "user_domain_id": "default",
        "project_domain_id": "default",
    }


def _section(name, options):
    """A [filter:NAME] section from ``options`` (``use`` or
    ``paste.filter_factory`` first)."""
    options = dict(options)
    head = "use" if "use" in options else "paste.filter_factory"
    lines = ["[filter:%s]" % name, "%s = %s" % (head, options.pop(head))]
    lines += ["%s = %s" % item for item in options.items()]
    return "\n".join(lines) + "\n\n"


def reference_sections(cluster, keystone, keymaster_use, keymaster_options,
                       encryption_use, pipeline=REFERENCE_PIPELINE, keymaster_name="kms_keymaster",
                       extra=""):
    """The proxy's paste sections: ``pipeline`` (the reference one by
    default) with Keystone auth and ``keymaster_use``/``encryption_use`` as
    its ``kms_keymaster``/``encryption`` (``keymaster_name`` names the
    keymaster's section)."""
    text = textwrap.dedent("""\
        [pipeline:main]
        pipeline = %s

        [app:proxy-server]
        use = egg:swift#proxy
        account_autocreate = true
        node_timeout = 20
        conn_timeout = 2

        """) % pipeline
    text += swift_filter_section("catch_errors")
    text += swift_filter_section("healthcheck")
    text += swift_filter_section("proxy-logging")
    text += filter_section("cache", "egg:swift#memcache",
                           {"memcache_servers": cluster.memcache_servers()})
    # on, with limits a functional test stays under (writes per container)
    text += swift_filter_section("ratelimit", {"container_ratelimit_0": "200",
                                               "container_listing_ratelimit_0": "200"})
    for name in ("bulk", "tempurl", "formpost", "staticweb", "copy", "container_quotas",
                 "account_quotas", "slo", "dlo"):
        text += swift_filter_section(name)
    text += swift_filter_section("versioned_writes", {"allow_versioned_writes": "true"})
    text += _section("authtoken", authtoken_options(keystone))
    text += _section("keystone", keystoneauth_options())
    text += filter_section(keymaster_name, keymaster_use, keymaster_options)
    text += filter_section("encryption", encryption_use)
    return text + extra


def func_test_conf(keystone):
    """test.conf for Swift's functional tests in Keystone (v3) mode."""
    lines = ["[func_test]", "auth_version = 3", "auth_uri = %s/" % keystone.auth_url]
    suffix = {1: "", 2: "2", 3: "3", 4: "4", 5: "5", 6: "6"}
    for index, (domain, project, user, password, _role) in FUNC_USERS.items():
        if index != 3:  # the third user is in the first user's project
            lines.append("account%s = %s" % (suffix[index], project))
        lines.append("username%s = %s" % (suffix[index], user))
        lines.append("password%s = %s" % (suffix[index], password))
        if domain != "default":
            lines.append("domain%s = %s" % (suffix[index], domain))
    lines += ["service_prefix = %s" % SERVICE_PREFIX, "collate = C", "insecure = no",
              "storage_domain =", "", "[unit_test]", "fake_syslog = False", ""]
    return "\n".join(lines)
