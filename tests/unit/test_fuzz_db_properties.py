"""Property tests (hypothesis) of encrypted account and container metadata
(dbmeta.py): the round trip through the encryption filter for any valid
names and values at both levels, and the accumulated-limit check against
a model of Swift's own rules.

The coverage-guided targets in tests/fuzz (db_meta_decrypt, db_key_id,
db_meta_rewrite) cover the same code from arbitrary stored headers and
requests.
"""

import base64
import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from swiftcrypt.crypto import cryptometa

from swiftcrypt.crypto import account_container_metadata as acmeta

from swiftcrypt.crypto import derivation

from swiftcrypt.crypto import keyids
from swiftcrypt.middleware.constraints import MAX_META_COUNT, MAX_META_OVERALL_SIZE
from tests.fuzz import targets
from tests.support.dbstore import DbStore
from tests.support.pipelines import call, encrypting_pipeline

SECRET = b"Q" * 32
SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
PATHS = {"account": "/v1/a", "container": "/v1/a/c"}
KEY_PATHS = {"account": "/a", "container": "/a/c"}


def pipeline(kind, store):
    return encrypting_pipeline(
        store, {"encryption_root_secret": base64.b64encode(SECRET).decode()},
        **{"encrypt_%s_metadata" % kind: "true"})


def w(text):
    """Real text as the WSGI string a header carries."""
    return text.encode("utf-8").decode("latin-1")


def fold(name):
    """A metadata name as Swift keeps it: the WSGI server folds "_" into
    "-", header names are case-insensitive."""
    return name.lower().replace("_", "-")


# HTTP token characters ("_" included: it reaches Swift as "-")
name_chars = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"
names = st.text(name_chars, min_size=1, max_size=40)
# real text Swift keeps as it is: no control characters (HTTP), no
# surrounding space (HTTP strips it), UTF-8 of at most 256 bytes
values = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")),
                 min_size=1, max_size=80).map(str.strip).filter(
    lambda v: v and len(v.encode("utf-8")) <= 256)


def _not_plain(kind):
    plain = acmeta.ACCOUNT.plain_names() if kind == "account" \
        else acmeta.CONTAINER.plain_names()
    return lambda item: fold(item[0]) not in plain


@SETTINGS
@given(st.sampled_from(["account", "container"]), st.data())
@example("container", None)
def test_any_names_and_values_round_trip_and_are_stored_encrypted(kind, data):
    if data is None:  # the example: one non-ASCII value of every UTF-8 length
        items = [("Snow", "\u2603 caf\u00e9 \U0001F600"), ("a_B", "x")]
        split = 1
    else:
        items = data.draw(st.lists(st.tuples(names, values).filter(_not_plain(kind)),
                                   min_size=1, max_size=8,
                                   unique_by=lambda item: fold(item[0])))
        split = data.draw(st.integers(0, len(items)))
    title = kind.title()
    store = DbStore(kind, PATHS[kind])
    app = pipeline(kind, store)
    # some values set by a PUT, the rest by a later POST: POSTs merge
    for method, part in (("PUT", items[:split]), ("POST", items[split:])):
        resp = call(app, PATHS[kind], method,
                    headers={"X-%s-Meta-%s" % (title, n): w(v) for n, v in part})
        assert resp.status_int == 204, resp.text
    stored_plain = {fold(n[len("X-%s-Meta-" % title):]): v for n, v in store.meta.items()
                    if n.lower().startswith("x-%s-meta-" % kind)}
    crypto_prefix = "x-%s-sysmeta-crypto-meta-" % kind
    ciphertexts = [v.split(";")[0] for n, v in store.meta.items()
                   if n.lower().startswith(crypto_prefix)]
    key = derivation.derive_key(SECRET, KEY_PATHS[kind])
    for name, value in items:
        assert not stored_plain.get(fold(name))  # never in the clear
        [stored] = [v for n, v in store.meta.items()
                    if fold(n) == crypto_prefix + fold(name)]
        ciphertext, meta = cryptometa.extract(stored)
        assert cryptometa.decrypt_value(ciphertext, key, meta) == value.encode("utf-8")
        keyids.check_db_key_id(meta["key_id"], "a", None if kind == "account" else "c")
        if len(value) >= 8:  # short values could appear in base64 by chance
            assert not any(w(value) in c for c in ciphertexts)
    for method in ("GET", "HEAD"):
        resp = call(app, PATHS[kind], method)
        assert resp.status_int == 200
        got = {fold(n[len("X-%s-Meta-" % title):]): v for n, v in resp.headers.items()
               if n.lower().startswith("x-%s-meta-" % kind)}
        assert got == {fold(n): w(v) for n, v in items}
        assert not any(n.lower().startswith("x-%s-sysmeta-" % kind) for n in resp.headers)
    # and a removal removes, whichever way it is written
    name = items[0][0]
    removal = {"X-Remove-%s-Meta-%s" % (title, name): "x"} if len(items) % 2 \
        else {"X-%s-Meta-%s" % (title, name): ""}
    assert call(app, PATHS[kind], "POST", headers=removal).status_int == 204
    resp = call(app, PATHS[kind], "HEAD")
    assert fold("X-%s-Meta-%s" % (title, name)) not in {fold(n) for n in resp.headers}


@SETTINGS
@given(st.sampled_from(["account", "container"]), names,
       st.binary(min_size=1, max_size=60).filter(lambda b: b.strip() == b))
def test_values_swift_refuses_are_refused_and_not_stored(kind, name, raw):
    """Swift takes only UTF-8 without NUL in account and container
    metadata (check_metadata): anything else is a 400, as from Swift."""
    try:
        ok = "\x00" not in raw.decode("utf-8") and not any(c in raw for c in b"\r\n")
    except UnicodeDecodeError:
        ok = False
    if ok or len(raw) > 256:
        return  # valid (the round trip's), or refused for its length
    store = DbStore(kind, PATHS[kind])
    resp = call(pipeline(kind, store), PATHS[kind], "POST",
                headers={"X-%s-Meta-%s" % (kind.title(), name): raw.decode("latin-1")})
    if b"\r" in raw or b"\n" in raw:
        return  # not a header value a client can send
    assert resp.status_int == 400 and "UTF-8" in resp.text
    assert store.meta == {}


# -- the accumulated limits ------------------------------------------------

def swift_accepts(stored, sets, removals):
    """Swift's account and container servers on the metadata after a
    PUT/POST (DatabaseBroker.validate_metadata over the merged set): the
    proxy turns each X-Remove-* into an empty value first, then the
    request's values override; empty values are no items. At most 90
    items and 4096 in names plus values - counted, as the servers count
    them, in characters of the real text (wsgi_to_str)."""
    merged = {fold(n): v for n, v in stored.items() if v}
    for name in removals:
        merged.pop(fold(name), None)
    for name, value in sets.items():
        if value:
            merged[fold(name)] = value
        else:
            merged.pop(fold(name), None)
    size = sum(len(targets.wsgi_to_str(n)) + len(targets.wsgi_to_str(v))
               for n, v in merged.items())
    return len(merged) <= MAX_META_COUNT and size <= MAX_META_OVERALL_SIZE


# names from a small pool (so that a request meets the stored names); values
# of one repeated character of 1, 2 or 3 UTF-8 bytes, at most 256 bytes,
# short ones too (to reach 90 items before 4096 characters)
pool_names = st.sampled_from(["n%d" % i for i in range(200)])
pool_values = st.tuples(st.one_of(st.integers(1, 3), st.integers(1, 256)),
                        st.sampled_from(["a", "\u00e9", "\u2603"])).map(
    lambda t: w(t[1] * min(t[0], 256 // len(t[1].encode()))))


def _storable(stored):
    """The first items of ``stored`` that Swift could hold together: the
    set before the request is one Swift accepted."""
    kept = {}
    for name, value in stored.items():
        if swift_accepts(dict(kept, **{name: value}), {}, set()):
            kept[name] = value
    return kept


def accumulated_case(min_stored):
    return st.tuples(
        # up to Swift's limits: many requests then refuse, many pass
        st.dictionaries(pool_names, pool_values, min_size=min_stored,
                        max_size=140).map(_storable),
        st.dictionaries(pool_names, st.one_of(pool_values, st.just("")), min_size=1,
                        max_size=20),
        st.sets(pool_names, max_size=5))


@SETTINGS
@given(st.sampled_from([acmeta.ACCOUNT, acmeta.CONTAINER]), accumulated_case(70))
@example(acmeta.CONTAINER,  # 3725 characters, 7325 bytes: Swift takes it (3e8bba9)
         ({"n%d" % i: w("\u00e9" * 80) for i in range(45)}, {"n0": w("\u00e9" * 80)}, set()))
@example(acmeta.ACCOUNT,  # 91 items, one set beside its own removal
         ({"n%d" % i: "v" for i in range(90)}, {"n90": "v"}, {"n90"}))
def test_accumulated_refusal_is_swifts_rule(level, case):
    stored, sets, removals = case
    title = level.kind.title()
    environ = {level.meta_key + n.upper(): v for n, v in sets.items()}
    environ.update((level.remove_key + n.upper(), "x") for n in removals)
    headers = [("X-%s-Meta-%s" % (title, n.title()), v) for n, v in stored.items()]
    refusal = level.accumulated_refusal(headers, environ)
    assert (refusal is None) == swift_accepts(stored, sets, removals), refusal


@settings(SETTINGS, max_examples=40)
@given(st.sampled_from(["account", "container"]), accumulated_case(70), st.booleans())
def test_a_post_is_refused_exactly_when_swift_would_refuse_it(kind, case, encrypted):
    """End to end: the stored set (encrypted by us, or plain as Swift
    wrote it) read back by the filter's HEAD, then a POST."""
    stored, sets, removals = case
    title = kind.title()
    store = DbStore(kind, PATHS[kind])
    key = derivation.derive_key(SECRET, KEY_PATHS[kind])
    key_id = keyids.make_key_id(KEY_PATHS[kind], None, keyids.DEFAULT_VERSION)
    for name, value in stored.items():
        if encrypted:
            store.meta["X-%s-Sysmeta-Crypto-Meta-%s" % (title, name.title())] = \
                cryptometa.encrypt_value(value.encode("latin-1"), key, key_id=key_id)
        else:
            store.meta["X-%s-Meta-%s" % (title, name.title())] = value
    headers = {"X-%s-Meta-%s" % (title, n): v for n, v in sets.items()}
    headers.update(("X-Remove-%s-Meta-%s" % (title, n), "x") for n in removals)
    per_request = targets._swift_refuses(list(headers.items()), "x-%s-meta-" % kind)
    app = pipeline(kind, store)
    resp = call(app, PATHS[kind], "POST", headers=headers)
    accepted = not per_request and swift_accepts(stored, sets, removals)
    assert resp.status_int == (204 if accepted else 400), resp.text
    if not accepted:
        return
    got = call(app, PATHS[kind], "HEAD").headers
    after = {fold(n[len("X-%s-Meta-" % title):]): v for n, v in got.items()
             if n.lower().startswith("x-%s-meta-" % kind) and v}
    expected = dict(stored)
    for name in removals:
        expected.pop(name, None)
    expected.update(sets)
    assert after == {n: v for n, v in expected.items() if v}


@pytest.mark.parametrize("level", [acmeta.ACCOUNT, acmeta.CONTAINER], ids=lambda lv: lv.kind)
def test_the_model_refuses_what_swift_refuses(level):
    """The model itself, at Swift's boundaries."""
    assert swift_accepts({"n%d" % i: "v" for i in range(90)}, {}, set())
    assert not swift_accepts({"n%d" % i: "v" for i in range(90)}, {"x": "v"}, set())
    assert swift_accepts({"n%d" % i: "v" for i in range(90)}, {"x": "v"}, {"n1"})
    assert swift_accepts({"a": "v" * 4094}, {}, set())
    assert not swift_accepts({"a": "v" * 4095, "b": ""}, {"c": "d"}, set())
