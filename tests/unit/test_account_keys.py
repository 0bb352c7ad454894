"""Per-account root secrets (swiftcrypt.keymasters.account_secrets) against an
in-memory key manager: names, the canonical choice, creation and its race,
the caches and their TTL, and the errors with their statuses."""

import datetime
import os
import uuid

import pytest

from swiftcrypt.keymasters import account_secrets as acs
from swiftcrypt.common.errors import UnknownSecretIdError
from swiftcrypt.keymanager.base import (
    KeyManager,
    Secret,
    SecretInfo,
    SecretNotFound,
    ServerError,
    Unreachable,
    sort_infos,
)
from swiftcrypt.common.ttlcache import TTLCache

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


class FakeAccountKeyManager(KeyManager):
    """In-memory key manager with names, creation times and listing.

    ``failures`` are raised, one per call, by the next calls; ``hook``
    runs before each store (to simulate another proxy acting meanwhile).
    """

    description = "Fake at memory"

    def __init__(self):
        self.secrets = {}  # id -> (name, payload, created)
        self.failures = []
        self.calls = []
        self.tick = 0
        self.hook = None

    def _maybe_fail(self, call):
        self.calls.append(call)
        if self.failures:
            raise self.failures.pop(0)

    def add(self, name, payload=None, created=None, key_id=None):
        key_id = key_id or str(uuid.uuid4())
        if created is None:
            self.tick += 1
            created = T0 + datetime.timedelta(seconds=self.tick)
        self.secrets[key_id] = (name, payload or os.urandom(32), created)
        return key_id

    def get_secret(self, key_id):
        self._maybe_fail(("get", key_id))
        if key_id not in self.secrets:
            raise SecretNotFound(key_id, "not found in Fake (404)")
        name, payload, _created = self.secrets[key_id]
        return Secret(key_id, payload, "symmetric", "aes", len(payload) * 8,
                      "application/octet-stream", name=name)

    def store_secret(self, payload, name=None, algorithm="aes", secret_type="symmetric"):
        self._maybe_fail(("store", name))
        if self.hook is not None:
            hook, self.hook = self.hook, None
            hook()
        return self.add(name, payload)

    def create_secret(self, name=None, algorithm="aes", bit_length=256):
        return self.store_secret(os.urandom(bit_length // 8), name)

    def delete_secret(self, key_id):
        self._maybe_fail(("delete", key_id))
        if key_id not in self.secrets:
            raise SecretNotFound(key_id, "not found in Fake (404)")
        del self.secrets[key_id]

    def list_secrets(self, name):
        self._maybe_fail(("list", name))
        return sort_infos(SecretInfo(k, n, c) for k, (n, _p, c) in self.secrets.items()
                          if n == name)

    def payload(self, key_id):
        return self.secrets[key_id][1]


@pytest.fixture
def km():
    return FakeAccountKeyManager()


@pytest.fixture
def clock():
    return Clock()


def make(km, clock=None, **kwargs):
    return acs.AccountSecrets(km, clock=clock or Clock(), sleep=lambda s: None, **kwargs)


# -- names and the canonical choice ------------------------------------------------

def test_secret_name_and_ids():
    assert acs.secret_name("AUTH_x") == "swiftcrypt-account:AUTH_x"
    assert acs.secret_name("AUTH_\u00e9") == "swiftcrypt-account:AUTH_\u00e9"
    assert acs.is_account_secret_id(str(uuid.uuid4()))
    for other in (None, "", "1", "kms", "x" * 36, {"a": 1}):
        assert not acs.is_account_secret_id(other)


def info(key_id, seconds):
    return SecretInfo(key_id, "n", None if seconds is None else
                      T0 + datetime.timedelta(seconds=seconds))


def test_canonical_is_oldest_of_a_race_and_newest_generation_after_rotation():
    assert acs.canonical([]) is None
    # a creation race: secrets seconds apart -> the oldest, whatever the order
    race = [info("b", 5), info("a", 0), info("c", 2)]
    assert acs.canonical(race).key_id == "a"
    assert acs.canonical(list(reversed(race))).key_id == "a"
    # a rotation a day later wins; a race during the rotation -> its oldest
    rotated = race + [info("z", 86400 + 3), info("y", 86400)]
    assert acs.canonical(rotated).key_id == "y"
    # equal creation times: the smallest id, so every proxy agrees
    assert acs.canonical([info("q", 0), info("p", 0)]).key_id == "p"
    # no creation times: the smallest id
    assert acs.canonical([info("q", None), info("p", None)]).key_id == "p"


# -- creation and convergence ------------------------------------------------------

def test_first_write_creates_one_secret_and_reads_do_not(km):
    secrets = make(km)
    with pytest.raises(acs.NoAccountSecret) as err:
        secrets.active("AUTH_a")
    assert err.value.status == 403 and "AUTH_a" in str(err.value)
    assert km.secrets == {}
    secret_id, all_ids = secrets.active("AUTH_a", create=True)
    assert all_ids == (secret_id,)
    assert km.secrets[secret_id][0] == "swiftcrypt-account:AUTH_a"
    # the creator has the bytes already: no fetch needed
    calls = len(km.calls)
    assert secrets.secret("AUTH_a", secret_id) == km.payload(secret_id)
    assert len(km.calls) == calls
    # a second proxy finds it rather than creating another
    other = make(km)
    assert other.active("AUTH_a", create=True) == (secret_id, all_ids)
    assert len(km.secrets) == 1


def test_distinct_secrets_per_account(km):
    secrets = make(km)
    a = secrets.active("AUTH_a", create=True)[0]
    b = secrets.active("AUTH_b", create=True)[0]
    assert a != b and km.payload(a) != km.payload(b)
    with pytest.raises(acs.WrongAccountSecret) as err:
        make(km).secret("AUTH_b", a)  # a's secret is not b's, by name
    assert isinstance(err.value, UnknownSecretIdError) and err.value.status == 500
    with pytest.raises(acs.WrongAccountSecret):
        secrets.secret("AUTH_b", a)  # nor from the cache


def test_creation_race_converges_on_the_oldest(km):
    p1, p2 = make(km), make(km)
    theirs = []
    # p2 creates its secret while p1 is creating its own (p2's is older)
    km.hook = lambda: theirs.append(p2.active("AUTH_r", create=True))
    mine = p1.active("AUTH_r", create=True)
    assert len(km.secrets) == 2
    assert mine[0] == theirs[0][0]  # both write with the same (p2's, older) secret
    assert set(mine[1]) == set(km.secrets)
    # p1's losing secret stays readable: ids are stored per item
    loser = next(k for k in km.secrets if k != mine[0])
    assert make(km).secret("AUTH_r", loser) == km.payload(loser)


def test_a_proxy_that_saw_only_its_own_secret_switches_after_the_ttl(km, clock):
    early = km.add("swiftcrypt-account:AUTH_r", created=T0)
    p1 = make(km, clock, ttl=60)
    km.secrets.pop(early)  # p1's listing misses the racing secret
    mine = p1.active("AUTH_r", create=True)[0]
    km.secrets[early] = ("swiftcrypt-account:AUTH_r", os.urandom(32), T0)
    km.secrets[mine] = km.secrets[mine][:2] + (T0 + datetime.timedelta(seconds=3),)
    assert p1.active("AUTH_r")[0] == mine  # cached
    clock.now += 61
    assert p1.active("AUTH_r")[0] == early


# -- caches ------------------------------------------------------------------------

def test_secrets_cached_for_the_ttl_then_shred_takes_effect(km, clock):
    key_id = km.add("swiftcrypt-account:AUTH_a")
    secrets = make(km, clock, ttl=30)
    assert secrets.secret("AUTH_a", key_id) == km.payload(key_id)
    assert secrets.active("AUTH_a")[0] == key_id
    km.delete_secret(key_id)
    clock.now += 29
    assert secrets.secret("AUTH_a", key_id)  # still cached
    assert secrets.active("AUTH_a")[0] == key_id
    clock.now += 2
    with pytest.raises(acs.SecretGone) as err:
        secrets.secret("AUTH_a", key_id)
    assert err.value.status == 410 and key_id in str(err.value) and "AUTH_a" in str(err.value)
    with pytest.raises(acs.NoAccountSecret):
        secrets.active("AUTH_a")
    # a gone id is remembered: no lookup per item of a listing
    calls = len(km.calls)
    with pytest.raises(acs.SecretGone):
        secrets.secret("AUTH_a", key_id)
    assert len(km.calls) == calls


def test_ttl_zero_fetches_every_time(km, clock):
    key_id = km.add("swiftcrypt-account:AUTH_a")
    secrets = make(km, clock, ttl=0)
    secrets.secret("AUTH_a", key_id)
    secrets.secret("AUTH_a", key_id)
    assert km.calls.count(("get", key_id)) == 2


def test_cache_is_bounded(km, clock):
    secrets = make(km, clock, max_entries=2)
    ids = [secrets.active("AUTH_%d" % i, create=True)[0] for i in range(3)]
    assert len(secrets._accounts) == 2 and len(secrets._secrets) == 2
    assert secrets.secret("AUTH_0", ids[0]) == km.payload(ids[0])  # fetched again


def test_ttlcache_lru_and_expiry():
    clock = Clock(0)
    cache = TTLCache(2, 10, clock)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    clock.now = 10
    assert cache.get("a") is None and len(cache) == 1
    cache.put("d", 4, ttl=0)
    assert cache.get("d") is None
    with pytest.raises(ValueError):
        TTLCache(0, 1)
    assert "secret" not in repr(cache) and "3" not in repr(cache).split("entries")[1]


# -- errors ------------------------------------------------------------------------

def test_unreachable_is_503_after_retries(km):
    km.failures = [Unreachable(None, "Fake did not answer")] * 3
    secrets = make(km, retries=2)
    with pytest.raises(acs.KeyManagerUnavailable) as err:
        secrets.active("AUTH_a", create=True)
    assert err.value.status == 503 and len(km.calls) == 3
    km.failures = [ServerError("x", "Fake answered with a server error (500)")]
    with pytest.raises(acs.KeyManagerUnavailable):
        make(km).secret("AUTH_a", "x")


def test_retry_then_success(km):
    key_id = km.add("swiftcrypt-account:AUTH_a")
    km.failures = [Unreachable(None, "blip")]
    assert make(km, retries=1).secret("AUTH_a", key_id) == km.payload(key_id)


def test_unusable_secret_is_500(km):
    key_id = km.add("swiftcrypt-account:AUTH_a", payload=b"short")
    with pytest.raises(acs.SecretUnusable) as err:
        make(km).secret("AUTH_a", key_id)
    assert err.value.status == 500 and "bits" in str(err.value)


def test_messages_never_hold_secret_bytes(km):
    key_id = km.add("swiftcrypt-account:AUTH_a")
    secrets = make(km)
    secrets.secret("AUTH_a", key_id)
    for err in (acs.SecretGone("AUTH_a", key_id, "gone"),
                acs.KeyManagerUnavailable("AUTH_a", None, "down")):
        assert "\n" not in str(err)
    assert km.payload(key_id).hex() not in repr(secrets._secrets)
