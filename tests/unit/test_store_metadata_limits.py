"""Swift's account and container metadata limits, enforced by the store
whether or not metadata encryption is on (they were only enforced by the
encryption filter, and only with encrypt_<level>_metadata on)."""

import pytest
from webob import Request

from swiftcrypt.store.app import app_factory
from tests.support.pipelines import encrypting_pipeline

KM_CONF = {"encryption_root_secret": "A" * 44}


@pytest.fixture(params=["store", "pipeline", "encrypting"])
def app(request, tmp_path):
    """The bare store; the standalone pipeline's filters with metadata
    encryption off (the default); and with it on."""
    store = app_factory({}, data_dir=str(tmp_path / "data"))
    if request.param == "store":
        return store
    on = "true" if request.param == "encrypting" else "false"
    return encrypting_pipeline(store, KM_CONF, encrypt_container_metadata=on,
                               encrypt_account_metadata=on)


LEVELS = [("/v1/a", "Account"), ("/v1/a/c", "Container")]


def _req(app, path, method, headers):
    return Request.blank(path, method=method, headers=headers).get_response(app)


def _meta(app, path, kind):
    got = _req(app, path, "HEAD", {})
    prefix = "x-%s-meta-" % kind.lower()
    return {n.lower()[len(prefix):]: v for n, v in got.headers.items()
            if n.lower().startswith(prefix)}


def _bad_sets(kind):
    meta = "X-%s-Meta-" % kind
    return [
        {meta + "n" * 129: "v"},                                     # name too long
        {meta + "v": "x" * 257},                                     # value too long
        {meta + "%03d" % i: "v" for i in range(91)},                 # too many
        {meta + "%02d" % i: "x" * 250 for i in range(17)},           # total > 4096
        {meta + "bad": b"\xff\xfe".decode("latin-1")},               # not UTF-8
        {meta + "nul": "a\x00b"},
    ]


@pytest.mark.parametrize("path,kind", LEVELS)
@pytest.mark.parametrize("method", ["PUT", "POST"])
@pytest.mark.parametrize("case", range(6))
def test_request_over_the_limits_is_400_and_changes_nothing(app, path, kind, method, case):
    assert _req(app, "/v1/a/c", "PUT", {"X-Container-Meta-Keep": "1",
                                        "X-Account-Meta-Keep": "1"}).status_int in (201, 202)
    assert _req(app, "/v1/a", "POST", {"X-Account-Meta-Keep": "1"}).status_int == 204
    resp = _req(app, path, method, _bad_sets(kind)[case])
    assert resp.status_int == 400, resp.body
    assert _meta(app, path, kind) == {"keep": "1"}


@pytest.mark.parametrize("path,kind", LEVELS)
def test_values_at_the_limits_are_kept(app, path, kind):
    assert _req(app, "/v1/a/c", "PUT", {}).status_int in (201, 202)
    meta = "X-%s-Meta-" % kind
    headers = {meta + "n" * 128: "v" * 256, meta + "utf8": "\u00e9".encode().decode("latin-1")}
    assert _req(app, path, "POST", headers).status_int == 204
    got = _meta(app, path, kind)
    assert got["n" * 128] == "v" * 256


@pytest.mark.parametrize("path,kind", LEVELS)
def test_set_kept_over_several_posts_is_limited_as_the_servers_limit_it(app, path, kind):
    assert _req(app, "/v1/a/c", "PUT", {}).status_int in (201, 202)
    meta = "X-%s-Meta-" % kind
    first = {meta + "a%02d" % i: "v" for i in range(50)}
    assert _req(app, path, "POST", first).status_int == 204
    second = {meta + "b%02d" % i: "v" for i in range(41)}
    assert _req(app, path, "POST", second).status_int == 400
    assert len(_meta(app, path, kind)) == 50
    # removing some makes room
    removals = {"X-Remove-%s-Meta-a%02d" % (kind, i): "x" for i in range(10)}
    assert _req(app, path, "POST", dict(second, **removals)).status_int == 204
    assert len(_meta(app, path, kind)) == 81
