"""Re-key the objects of an account through a loaded internal pipeline.

The pipeline is ``keymaster encryption <backend>`` with no auth, no
gatekeeper and no large-object/symlink/versioning middleware, so that a
GET returns a manifest or link as stored and a PUT creates no version.
Per object: its headers as stored - shown by swiftcrypt's decrypter on
the decrypted GET (``STORED_HEADERS``), else by a HEAD with decryption
bypassed - show which secrets its parts are under (rekey.classify) and,
with ``WRITE_KEYS`` set, which
secret a write uses now (account_keymaster makes an account's first
secret then, as for a write: the old keymaster kept before it must not
decide); a stale one is read decrypted and
written back encrypted under the active secret, with ``X-Timestamp`` set
to its own timestamp plus an offset, so a client write made after the
read wins (the backend answers 409 - Swift's proxy turns that into 202 -
and the object is left alone). The account's and each container's
encrypted metadata values (dbmeta) under another secret are decrypted and
written back as sysmeta under the active one, by a POST of only the
values unchanged since they were read.

With ``encrypt_plaintext`` the run also encrypts what was written before
encryption was enabled: an object with plaintext parts (rekey.plaintext_parts)
is rewritten the same way, and the plain account and container metadata
values that the pipeline's encryption filter would encrypt now (its
``encrypt_<level>_metadata`` and plain-names options) are written back
encrypted in the same compare-and-set POST.
"""

import collections
import json
import time
from urllib.parse import quote

from swiftcrypt.common import names, timestamps
from swiftcrypt.common.wsgiclient import IterReader, call
from swiftcrypt.crypto import cryptometa
from swiftcrypt.crypto.account_container_metadata import ACCOUNT, CONTAINER
from swiftcrypt.crypto.fast.ctr import ShortCtr
from swiftcrypt.keymasters.account_secrets import NoAccountSecret
from swiftcrypt.rekey import plan as rekey
from swiftcrypt.rekey import state as rekeystate

OVERRIDE = names.CRYPTO_OVERRIDE
KEYS_CALLBACK = names.KEYS_CALLBACK
# Asks the keymaster for the keys a write would get, whatever the method:
# account_keymaster otherwise answers a HEAD as a read (no secret made, the
# fallback's keys for an account without one). Other keymasters give a
# write's keys always.
WRITE_KEYS = names.KEYS_FOR_WRITE
STORED_HEADERS = names.STORED_HEADERS
# a manifest or link is read as stored, even if such middleware is present
_AS_STORED = "multipart-manifest=get&symlink=get"
# Swift's proxy lists and serves reserved (\x00) names (object versioning's
# hidden containers) only with this; other backends ignore it.
_INTERNAL_HEADERS = [("X-Backend-Allow-Reserved-Names", "true"),
                     ("User-Agent", "swiftcrypt-rekey")]
_LISTING_PAGE = 10000

REKEYED, WOULD_REKEY, CURRENT, CONFLICT, FAILED, UNENCRYPTED, EXPIRED = (
    "re-keyed", "would re-key", "current", "conflict", "failed", "unencrypted", "expired")
ENCRYPTED, WOULD_ENCRYPT = "encrypted", "would encrypt"
OUTCOMES = (REKEYED, WOULD_REKEY, CURRENT, CONFLICT, FAILED, UNENCRYPTED, EXPIRED,
            ENCRYPTED, WOULD_ENCRYPT)
# what --limit counts: items that needed a write
_HANDLED = (REKEYED, WOULD_REKEY, ENCRYPTED, WOULD_ENCRYPT, CONFLICT, FAILED)
PLAINTEXT = "plaintext"  # the "from" of a report line's detail


def _moved(ids, active, plain=False):
    """A report's detail: ``A -> B`` for ``{part: secret id}`` ``ids``
    under active ``B``; with ``plain`` (some part is plaintext)
    ``plaintext -> B`` or ``plaintext, A -> B`` (the parts not under B)."""
    source = []
    if plain:
        source.append(PLAINTEXT)
        ids = {part: secret_id for part, secret_id in ids.items() if secret_id != active}
    if ids:
        source.append(rekey.describe_ids(ids))
    return "%s -> %s" % (", ".join(source), rekey.secret_name(active))


class ListingError(Exception):
    """An account or container listing failed (the message says which)."""


class StopRun(ListingError):
    """The run cannot go on: the keymaster gives no key id to write with
    (a ListingError, so callers that stop on a failed listing stop)."""


class Result:
    """What happened to one object: ``outcome``, a one-line ``detail``, the
    secret ids its parts were under when read (``secrets``, a set; empty
    when unknown or plaintext) and the bytes it rewrote (``size``)."""

    def __init__(self, container, name, outcome, detail="", secrets=(), size=0):
        self.container = container
        self.name = name
        self.outcome = outcome
        self.detail = detail
        self.secrets = set(secrets)
        self.size = size


def _pipeline(app):
    """Each app of the pipeline ``app``, once, following ``.app`` links (how
    Swift's and our middlewares hold the next one)."""
    seen = set()
    while app is not None and id(app) not in seen:
        seen.add(id(app))
        yield app
        app = getattr(app, "app", None)


def encryption_filter(app):
    """swiftcrypt's encryption filter in the pipeline ``app``, or None:
    read from the loaded filter, what the tool does cannot disagree with
    what its config says."""
    from swiftcrypt.middleware.encryption import Encryption

    return next((found for found in _pipeline(app) if isinstance(found, Encryption)), None)


_DISABLED = "the pipeline's encryption filter has disable_encryption on"
_MISSING = "the pipeline has no encryption filter"


def _encrypter_state(app):
    """The encrypting filter of the pipeline ``app`` (swiftcrypt's
    ``encryption`` or Swift's encrypter, both with a ``disable_encryption``
    attribute): None if there is one that encrypts, else _DISABLED or
    _MISSING."""
    for found in _pipeline(app):
        disabled = getattr(found, "disable_encryption", None)
        if isinstance(disabled, bool):
            return _DISABLED if disabled else None
    return _MISSING


def _metadata_encryption(found):
    """``{dbmeta level: PlainNames}`` of the levels whose plain metadata the
    encryption filter ``found`` encrypts on a write (its
    ``encrypt_<level>_metadata`` option on); none without such a filter
    (Swift's encryption encrypts no account or container metadata)."""
    if found is None:
        return {}
    return {writes.level: writes.plain_names
            for writes in (found.account_writes, found.container_writes) if writes.encrypt}


def _guarded(work, *args):
    """``work(*args)``, with an exception it raises turned into ``(FAILED,
    detail)``: one bad item must not stop the run (a StopRun must)."""
    try:
        return work(*args)
    except StopRun:
        raise
    except rekey.RekeyError as err:
        return FAILED, str(err)
    except Exception as err:
        return FAILED, "%s: %s" % (type(err).__name__, _first_line(
            str(err).encode("utf-8", "replace")))


def _first_line(data):
    text = data.decode("utf-8", "replace").strip()
    return (text.splitlines() or [""])[0][:200]


class Rekeyer:
    """Re-key one account's objects through WSGI ``app``; with
    ``encrypt_plaintext``, encrypt its plaintext objects and metadata too."""

    def __init__(self, app, account, dry_run=False, clock=time.time,
                 encrypt_plaintext=False, throttle=None):
        self.app = app
        # throttle(ops, nbytes): waits until the rate limits allow them
        self.throttle = throttle or (lambda ops, nbytes: None)
        self.account = account
        self.dry_run = dry_run
        self.clock = clock
        self.encrypt_plaintext = encrypt_plaintext
        found = encryption_filter(app)
        # swiftcrypt's decrypter shows a GET's stored headers: no raw HEAD
        self.one_read = found is not None
        self.plain_names = _metadata_encryption(found) if encrypt_plaintext else {}
        # its rewrites would store plaintext: a re-key would decrypt an
        # object and call it "re-keyed", an --encrypt-plaintext run would
        # store the plaintext again and call it "encrypted"
        self.cannot_encrypt = _encrypter_state(app)
        self.counts = dict.fromkeys(OUTCOMES, 0)

    def _path(self, *parts):
        return "/".join(("/v1", self.account) + parts)

    def _call(self, method, path, headers=(), **kw):
        return call(self.app, method, path, list(_INTERNAL_HEADERS) + list(headers), **kw)

    # listings

    def entries(self, path, what, marker=""):
        """The listing entries (dicts) of ``path`` after ``marker``, as
        stored (no listing etag decryption); ListingError if it fails."""
        while True:
            query = "format=json&limit=%d&marker=%s" % (
                _LISTING_PAGE, quote(marker.encode("utf-8"), safe=""))
            resp = self._call("GET", path, query=query, environ={OVERRIDE: True})
            body = resp.read(limit=1 << 30)
            if resp.status == 204:
                return
            if resp.status != 200:
                raise ListingError("listing %s failed: %s %s" % (
                    what, resp.status, _first_line(body)))
            try:
                page = [entry for entry in json.loads(body) if "name" in entry]
            except (ValueError, TypeError, KeyError) as err:
                raise ListingError("listing %s: bad JSON (%s)" % (what, err)) from None
            if not page:
                return
            yield from page
            marker = page[-1]["name"]

    def _listing(self, path, what, marker=""):
        # names are all it needs
        return (entry["name"] for entry in self.entries(path, what, marker))

    def containers(self):
        """The account's container names, in listing order."""
        return self._listing(self._path(), "account %s" % self.account)

    def objects(self, container, marker=""):
        """The container's object names after ``marker``, in listing order."""
        return self._listing(self._path(container), "container %s" % container, marker)

    # one object

    def rekey_object(self, container, name):
        """Re-key one object if it needs it; returns a Result."""
        return Result(container, name, *_guarded(self._rekey, container, name))

    def _rekey(self, container, name):
        path = self._path(container, name)
        self.throttle(1, 0)
        # One decrypted GET, with swiftcrypt's decrypter showing the headers
        # as stored: what the raw HEAD would say, from the same response the
        # body is then streamed from (a rewrite costs a copy's two requests,
        # and what is written back is what was classified). Without that
        # decrypter (Swift's), the raw HEAD first, then the GET.
        if not self.one_read:
            return self._rekey_after_head(path)
        got = self._call("GET", path, query=_AS_STORED,
                         environ={WRITE_KEYS: True, STORED_HEADERS: True})
        try:
            stored = got.environ.get(STORED_HEADERS)
            if not isinstance(stored, list):  # another decrypter answered
                got.close()
                self.one_read = False
                return self._rekey_after_head(path)
            if got.status == 404:
                return CONFLICT, "gone before it was read"
            # a crypto meta that does not parse fails here (RekeyError), as
            # it would on the raw HEAD
            decided = self._decide(stored, got.environ.get(KEYS_CALLBACK))
            if got.status != 200:
                # never "current": an unread object must not let its secret
                # look retirable; a dry run says what the HEAD would have
                if decided[0] is None and self.dry_run:
                    return decided[2], decided[3], decided[4].values()
                failed = (FAILED, "GET answered %s %s" % (got.status, _first_line(
                    got.read(4096))))
                return failed + ((decided[4].values(),) if decided[0] is None else ())
            return self._carry_out(decided, lambda stamp, moved, done: self._put_back(
                path, got, stamp, moved, done, stored))
        finally:
            got.close()

    def _rekey_after_head(self, path):
        """The object at ``path`` re-keyed by a raw HEAD, then the GET
        (checked to be the version the HEAD saw) and the PUT."""
        raw = self._raw_head(path)
        if raw.status == 404:
            return CONFLICT, "gone before it was read"
        if raw.status // 100 != 2:
            return FAILED, "HEAD answered %s" % raw.status
        decided = self._decide(raw.headers, raw.environ.get(KEYS_CALLBACK))
        return self._carry_out(decided, lambda stamp, moved, done: self._rewrite(
            path, stamp, moved, done, raw.headers))

    def _carry_out(self, decided, write):
        """The outcome of _decide()'s ``decided``: nothing to write, a dry
        run's answer, or ``write(stamp, moved, done)``'s ``(outcome,
        detail)`` once the rate limit lets its bytes through."""
        if decided[0] is not None:
            return decided[1:]
        _, done, would, moved, ids, stamp, size = decided
        if self.dry_run:
            return would, moved, ids.values()
        self.throttle(0, size)
        outcome, detail = write(stamp, moved, done)
        return outcome, detail, ids.values(), size if outcome == done else 0

    def _decide(self, raw_headers, fetch):
        """What to do with an object whose stored headers are
        ``raw_headers`` (``fetch``: the keys callback its request got):
        ``(None, done, would, moved, ids, timestamp, size)`` for a rewrite
        (``done``/``would``: its outcome, done or in a dry run), else
        ``(True, outcome, detail[, secret ids])``: nothing to write."""
        if fetch is None:
            return True, FAILED, "no keymaster in the pipeline"
        active = self._active_secret(fetch)
        state, ids = rekey.classify(raw_headers, active)
        plain = rekey.plaintext_parts(raw_headers) if self.encrypt_plaintext else ()
        # a re-key through a pipeline without encryption is stopped by
        # _put_back's check of what it read (a scripted pipeline may show no
        # filter); a plaintext object would only be rewritten as it is
        if self.cannot_encrypt is not None and (plain or (
                state == rekey.STALE and self.cannot_encrypt is _DISABLED)):
            raise StopRun("%s: a rewrite would store plaintext" % self.cannot_encrypt)
        if plain:
            # an object with a part under another secret counts as re-keyed
            # (its "would re-key 0" is what says that secret may go)
            done, would = (REKEYED, WOULD_REKEY) if state == rekey.STALE else (
                ENCRYPTED, WOULD_ENCRYPT)
            moved = _moved(ids, active, plain=True)
        elif state == rekey.STALE:
            done, would = REKEYED, WOULD_REKEY
            moved = _moved(ids, active)
        else:
            return True, state, "", ids.values()
        lowered = {name.lower(): value for name, value in raw_headers}
        stamp = lowered.get("x-backend-timestamp") or lowered.get("x-timestamp")
        if not stamp:
            return True, FAILED, "the backend gave no timestamp"
        delete_at = (lowered.get("x-delete-at") or "").strip()
        if delete_at.isdigit() and int(delete_at) <= self.clock() + 1:
            return True, EXPIRED, "expires before it could be rewritten", ids.values()
        length = (lowered.get("content-length") or "").strip()
        size = int(length) if length.isdigit() else 0
        return None, done, would, moved, ids, stamp, size

    def _write_keys(self, fetch):
        """The keys a write gets now (a dict); StopRun if the account has
        no secret to write with."""
        try:
            keys = fetch(key_id=None)
        except NoAccountSecret as err:  # account_keymaster, creation off
            raise StopRun("account %s: no root secret to re-key with: %s" % (
                self.account, _first_line(str(err).encode("utf-8", "replace")))) from None
        return keys if isinstance(keys, dict) else {}

    def _active_secret(self, fetch):
        """The secret id a write uses now; StopRun if the keymaster has none."""
        key_id = self._write_keys(fetch).get("id")
        if not isinstance(key_id, dict):
            raise StopRun("account %s: the keymaster gives no key id to write with (is "
                          "the pipeline's keymaster the one proxies write with?)" % self.account)
        return key_id.get("secret_id")

    def _rewrite(self, path, stamp, moved, done, raw_headers):
        """GET the object at ``path`` and, if it is still the version
        stamped ``stamp`` that the raw HEAD saw, _put_back."""
        got = self._call("GET", path, query=_AS_STORED)
        try:
            if got.status == 404:
                return CONFLICT, "gone before it was read"
            if got.status != 200:
                return FAILED, "GET answered %s %s" % (got.status, _first_line(got.read(4096)))
            now_stamp = got.header("X-Backend-Timestamp") or got.header("X-Timestamp")
            if not now_stamp:
                return FAILED, "the backend gave no timestamp"
            if timestamps.order_key(now_stamp) != timestamps.order_key(stamp):
                return CONFLICT, "changed while being read"
            return self._put_back(path, got, stamp, moved, done, raw_headers)
        finally:
            got.close()

    def _put_back(self, path, got, stamp, moved, done, raw_headers):
        """PUT the body of the decrypted GET ``got`` (of the version stored
        with ``raw_headers``, stamped ``stamp``) back at ``stamp`` plus an
        offset: a write made after that version wins."""
        part = rekey.undecrypted(raw_headers, got.headers)
        if part is not None:
            raise StopRun("%s: the object's %s was not decrypted by the GET (is there an "
                          "encryption filter in the pipeline?)" % (
                              quote(path.encode("utf-8", "surrogateescape"), safe="/"), part))
        headers = rekey.rewrite_headers(got.headers, timestamps.bumped(stamp))
        length = got.header("Content-Length")
        headers.append(("Content-Length", length) if length is not None
                       else ("Transfer-Encoding", "chunked"))
        # the Content-Type is the stored one (swift_bytes and other swift_
        # parameters included), which Swift's proxy takes only from a
        # middleware that says so
        put = self._call("PUT", path, headers, body=IterReader(got.body()),
                         environ={"swift.content_type_overridden": True})
        detail = _first_line(put.read(4096))
        if put.status == 201:
            return done, moved
        if put.status in (202, 409):
            return CONFLICT, "a newer write won"
        return FAILED, "PUT answered %s %s" % (put.status, detail)

    # the account's and each container's own metadata

    def rekey_metadata(self, container=None):
        """Re-encrypt the encrypted metadata values (see dbmeta) of the
        account (``container`` None) or of ``container`` that are under
        another secret than the active one. A Result with name None
        (container None too for the account's), or None when there is no
        encrypted metadata (nothing to count) or the container is gone
        (its object listing then fails the run)."""
        level, path = (ACCOUNT, self._path()) if container is None else (
            CONTAINER, self._path(container))
        found = _guarded(self._rekey_metadata, level, path)
        return None if found is None else Result(container, None, *found)

    def _raw_head(self, path):
        raw = self._call("HEAD", path, environ={OVERRIDE: True, WRITE_KEYS: True})
        raw.close()
        return raw

    def _plain_meta(self, level, raw):
        """``{crypto sysmeta name: plain header name}`` of the plain values
        in ``raw`` that the tool's encryption filter would encrypt now
        (none unless the run encrypts plaintext)."""
        plain_names = self.plain_names.get(level)
        if plain_names is None:
            return {}
        size = len(level.user_prefix)
        return {level.crypto_prefix + name[size:]: name for name, value in raw.headers
                if name[:size].lower() == level.user_prefix.lower() and value
                and name[size:] not in plain_names}

    def _rekey_metadata(self, level, path):
        """Re-key (or encrypt) the account's or container's metadata at
        ``path``; None when there is none, else ``(outcome, detail,
        secret ids read)``."""
        self.throttle(1, 0)
        raw = self._raw_head(path)
        if raw.status // 100 != 2:
            # anything but "gone" is a failure: an unread value must never
            # let its secret look retirable
            return None if raw.status == 404 else (FAILED, "HEAD answered %s" % raw.status)
        stored = rekey.meta_secret_ids(raw.headers, level.crypto_prefix)
        plain = self._plain_meta(level, raw)
        if not stored and not plain:
            return None
        fetch = raw.environ.get(KEYS_CALLBACK)
        keys = self._write_keys(fetch) if fetch is not None else {}
        key_id = keys.get("id")
        if not isinstance(keys.get(level.kind), bytes) or not isinstance(key_id, dict):
            return FAILED, "the keymaster gives no %s key%s" % (level.kind, (
                " (Swift's keymaster does not; use swiftcrypt's)" if level is ACCOUNT else "")), \
                stored.values()
        active = key_id.get("secret_id")
        # a name with a plain value is encrypted from that (it wins on reads)
        stale = sorted(name for name, secret_id in stored.items()
                       if secret_id != active and name not in plain)
        if not stale and not plain:
            return CURRENT, "", stored.values()
        moved = _moved({name: stored[name] for name in stale}, active, plain=bool(plain))
        if self.dry_run:
            return (WOULD_REKEY if stale else WOULD_ENCRYPT), moved, stored.values()
        decrypted = None
        if stale:
            decrypted = self._call("HEAD", path)
            decrypted.close()
            if decrypted.status // 100 != 2:
                return FAILED, "decrypting HEAD answered %s" % decrypted.status, stored.values()
        updates = self._metadata_updates(level, path, raw, decrypted, stale, plain,
                                         ShortCtr(keys[level.kind]), key_id)
        wanted = len(stale) + 2 * len(plain)
        if not updates:
            return CONFLICT, "changed while being read", stored.values()
        post = self._call("POST", path, updates, environ={OVERRIDE: True})
        detail = _first_line(post.read(4096))
        if post.status // 100 != 2:
            return FAILED, "POST answered %s %s" % (post.status, detail), stored.values()
        if len(updates) != wanted:
            return CONFLICT, moved, stored.values()
        return (REKEYED if stale else ENCRYPTED), moved, stored.values()

    def _metadata_updates(self, level, path, raw, decrypted, stale, plain, cipher, key_id):
        """The POST's ``(name, value)`` pairs: the ``stale`` values (read
        decrypted) and the ``plain`` ones encrypted under ``key_id``, each
        plain copy emptied; a value a client changed since ``raw`` was
        read is left out."""
        # Compare-and-set as far as an account or container POST allows:
        # only values unchanged since the first read are written (Swift's
        # proxy stamps these POSTs itself, so a newer write cannot win by
        # timestamp).
        again = self._raw_head(path)

        def encrypted(value):
            # written as sysmeta directly (decryption and encryption bypassed):
            # never plaintext, whatever the tool's encryption options say
            return cryptometa.encrypt_value(value.encode("latin-1"), cipher, key_id=key_id)

        updates = []
        for name in stale:
            value = decrypted.header(level.user_prefix + name[len(level.crypto_prefix):])
            if value is None or again.header(name) != raw.header(name):
                continue  # a plain copy wins, or a client changed it meanwhile
            updates.append((name, encrypted(value)))
        for name, plain_name in sorted(plain.items()):
            value = raw.header(plain_name)
            if again.header(plain_name) != value:
                continue  # a client changed it meanwhile
            # the plain copy goes in the same POST: it would win on reads
            updates += [(name, encrypted(value)), (plain_name, "")]
        return updates

    # the run

    def run(self, container=None, limit=None, report=None, concurrency=1, position=None,
            mine=None, checkpoint=None):
        """Re-key every object of ``container`` (None: of every container,
        and the account's encrypted metadata first), each container's
        encrypted metadata before its objects; stop after ``limit`` items
        that needed re-keying (or encrypting). ``report(result)`` is called for each
        object and each account or container metadata Result. Returns
        ``{outcome: count}`` (also kept as ``counts``, complete so far if
        a listing fails: ListingError).

        ``concurrency`` objects are re-keyed at once (green threads; the
        metadata steps and every count stay in the calling one).
        ``position`` (rekeystate.Position) is where to start and is kept up
        to date, its counts included; ``checkpoint()`` is called after each
        item (to save it). ``mine(item)``: False for an item (``account``,
        ``account/container`` or ``account/container/object``) another
        process does."""
        pos = position if position is not None else rekeystate.Position()
        tally = _Tally(pos, report, checkpoint or (lambda: None))
        counts = self.counts = tally.counts
        mine = mine or (lambda item: True)
        pool = _Pool(concurrency)

        def full():
            return limit is not None and tally.handled + pool.running >= limit

        try:
            if container is None and not pos.account_meta_done:
                if mine(self.account):
                    tally.record(self.rekey_metadata())
                pos.account_meta_done = True
                tally.checkpoint()
            for cont in ([container] if container is not None else self.containers()):
                if pos.passed(cont):
                    continue
                pos.enter(cont)
                if not pos.container_meta_done:
                    if full():
                        return counts
                    if mine("%s/%s" % (self.account, cont)):
                        tally.record(self.rekey_metadata(cont))
                    pos.container_meta_done = True
                    tally.checkpoint()
                if not self._rekey_objects(cont, pos, mine, tally, pool, concurrency, full):
                    return counts
                pos.leave(cont)
                tally.checkpoint()
            if container is None:
                pos.finished = True
        finally:
            # what is in flight still lands (and counts) before the run ends
            while pool.running:
                try:
                    tally.finished(*pool.next())
                except StopRun:
                    pass  # the first one is the run's answer
        return counts

    def _rekey_objects(self, cont, pos, mine, tally, pool, concurrency, full):
        """Re-key the objects of ``cont`` from the position's mark, up to
        ``concurrency`` at once; False when the run's limit stopped it."""
        for name in self.objects(cont, pos.mark):
            if pos.is_done(name) or not mine("%s/%s/%s" % (self.account, cont, name)):
                pos.skip(name)
                continue
            while pool.running and (pool.running >= concurrency or full()):
                tally.finished(*pool.next())
            if full():
                return False
            pos.start(name)
            pool.spawn(name, self.rekey_object, cont, name)
            for done in pool.ready():
                tally.finished(*done)
        while pool.running:
            tally.finished(*pool.next())
        return True


class _Tally:
    """A run's counts, kept in its Position: each Result counted (by
    outcome, bytes, and for each secret it was read under) and reported;
    ``checkpoint()`` after each finished item."""

    def __init__(self, pos, report, checkpoint):
        self.pos = pos
        self.counts = pos.counts
        for outcome in OUTCOMES:
            self.counts.setdefault(outcome, 0)
        self.report = report
        self.checkpoint = checkpoint
        self.handled = 0  # items that needed re-keying (or encrypting)

    def record(self, result):
        """Count ``result`` (None: no encrypted metadata, nothing to count)."""
        if result is None:
            return
        pos = self.pos
        self.counts[result.outcome] += 1
        pos.bytes += result.size
        for secret_id in result.secrets:
            per = pos.secrets.setdefault(rekey.secret_name(secret_id), {})
            per[result.outcome] = per.get(result.outcome, 0) + 1
        if result.outcome in _HANDLED:
            self.handled += 1
        if self.report is not None:
            self.report(result)

    def finished(self, name, result):
        """Object ``name`` is done: count it, mark it, checkpoint."""
        self.record(result)
        self.pos.finish(name)
        self.checkpoint()


class _Pool:
    """Runs ``work(*args)`` in up to ``size`` green threads (inline when
    ``size`` is 1: no eventlet then); results come back, in the calling
    green thread, as ``(tag, result)`` in the order they finish. An
    exception the work raised (StopRun) is raised again by next()."""

    def __init__(self, size):
        self.size = size
        self.running = 0
        if size > 1:
            import eventlet
            import eventlet.queue
            self._green = eventlet.GreenPool(size)
            self._queue = eventlet.queue.LightQueue()
        else:
            self._green = None
            self._queue = collections.deque()

    def spawn(self, tag, work, *args):
        """Start ``work(*args)``."""
        self.running += 1
        if self._green is None:
            self._queue.append(self._run(tag, work, args))
        else:
            self._green.spawn_n(lambda: self._queue.put(self._run(tag, work, args)))

    @staticmethod
    def _run(tag, work, args):
        try:
            return tag, work(*args), None
        except BaseException as err:  # StopRun, or a kill: raised again in next()
            return tag, None, err

    def _take(self, item):
        self.running -= 1
        tag, result, err = item
        if err is not None:
            raise err
        return tag, result

    def next(self):
        """The next ``(tag, result)`` to finish (waits for it)."""
        if self._green is None:
            return self._take(self._queue.popleft())
        return self._take(self._queue.get())

    def ready(self):
        """The ``(tag, result)`` of the work finished by now, without waiting."""
        out = []
        while self.running and (len(self._queue) if self._green is None
                                else self._queue.qsize()):
            out.append(self.next())
        return out
