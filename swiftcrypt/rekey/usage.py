"""``swiftcrypt keys usage``: which root secrets (and, with
account_keymaster, which account secrets) data still depends on, from the
raw crypto metadata only - no body is decrypted or even read.

Per secret id it counts the objects with a part under it (body and etag,
listing etag or user metadata: a raw HEAD each, rekey.secret_ids), the
container listing entries whose etag is encrypted under it (the raw
listing), and the encrypted account and container metadata values under
it (raw HEADs, rekey.meta_secret_ids). A secret the pipeline's keymaster
holds with every count 0, in a scan where nothing failed to be read, is
reported ``unused``: it may be retired. Anything that could not be read
makes the scan incomplete, and then no secret is called unused.

With account_keymaster the secrets held are per account: each scanned
account's secrets are listed from the key manager (by name, as the
keymaster lists them), so an account secret nothing depends on any more
(the old one after a rotation and a re-key) gets its line and can be
called unused too.
"""

from swiftcrypt.common.errors import CryptoError
from swiftcrypt.common.wsgiclient import call
from swiftcrypt.crypto import keyids, listing_etag
from swiftcrypt.crypto.account_container_metadata import ACCOUNT, CONTAINER
from swiftcrypt.rekey import plan, run

OBJECTS, LISTING, ACCOUNT_META, CONTAINER_META = (
    "objects", "listing entries", "account metadata", "container metadata")
KINDS = (OBJECTS, LISTING, ACCOUNT_META, CONTAINER_META)


class Usage:
    """What a scan found: ``counts[secret name][kind]``, plaintext objects,
    and the items it could not read (``problems``, one line each)."""

    def __init__(self, configured=()):
        self.counts = {}
        self.configured = set()
        self.owners = {}  # account secret id -> its account
        self.hold(configured)
        self.scanned = dict.fromkeys(("accounts", "containers", "objects"), 0)
        self.unencrypted = 0
        self.problems = []

    def hold(self, secret_ids, account=None):
        """``secret_ids`` are held by the keymaster (``account``'s own
        secrets, with account_keymaster): each gets a line, even at 0."""
        for secret_id in secret_ids:
            name = plan.secret_name(secret_id)
            self.counts.setdefault(name, dict.fromkeys(KINDS, 0))
            self.configured.add(name)
            if account is not None:
                self.owners[name] = account

    def add(self, secret_ids, kind):
        """Count one item of ``kind`` under each of ``secret_ids``."""
        for secret_id in set(secret_ids):
            per = self.counts.setdefault(plan.secret_name(secret_id), dict.fromkeys(KINDS, 0))
            per[kind] += 1

    def unused(self):
        """The configured secret names nothing depends on, or None when the
        scan was incomplete (then nothing can be said unused)."""
        if self.problems:
            return None
        return sorted(name for name in self.configured
                      if not any(self.counts[name].values()))

    def to_json(self):
        """The usage as a JSON-able dict."""
        return {"secrets": self.counts, "account secrets": self.owners,
                "scanned": self.scanned,
                "unencrypted objects": self.unencrypted, "problems": len(self.problems),
                "unused": self.unused()}


def configured_secret_ids(app):
    """The root secret ids the pipeline's keymaster holds (swiftcrypt's
    keymaster or kms_keymaster, or Swift's), or () if it cannot tell
    (account_keymaster: per-account secrets)."""
    for found in run._pipeline(app):
        roots = getattr(found, "root_secrets", None)
        if roots is not None and hasattr(roots, "ids"):
            return tuple(roots.ids())
        ids = getattr(found, "root_secret_ids", None)
        if isinstance(ids, (list, tuple)):
            return tuple(ids)
    return ()


def account_keymaster(app):
    """The pipeline's account_keymaster filter, or None."""
    from swiftcrypt.keymasters.account_keymaster import AccountKeyMaster

    return next((found for found in run._pipeline(app)
                 if isinstance(found, AccountKeyMaster)), None)


def account_secret_ids(keymaster, account):
    """The ids of ``account``'s root secrets in the key manager (oldest
    first), listed now (not from a cache); KeyManagerError if it cannot
    say."""
    from swiftcrypt import keymanager
    from swiftcrypt.keymasters import account_secrets

    secrets = keymaster.secrets
    infos = keymanager.call_with_retries(
        lambda: secrets.manager.list_secrets(account_secrets.secret_name(account)),
        retries=secrets.retries)
    return [info.key_id for info in infos]


def _raw_head(app, path):
    resp = call(app, "HEAD", path, [("X-Backend-Allow-Reserved-Names", "true")],
                environ={run.OVERRIDE: True})
    resp.close()
    return resp


def _listing_secret(entry):
    """The secret id of a raw listing entry's encrypted etag; False when
    the etag is not encrypted."""
    value = entry.get("hash") or ""
    if not listing_etag.is_encrypted(value):
        return False
    meta = listing_etag.stored_meta(value)
    key_id = meta.get("key_id") if isinstance(meta, dict) else None
    if key_id is None:
        raise CryptoError("listing etag without key_id")
    return keyids.parse_key_id(key_id)[0]


def scan_account(app, account, usage, mine=None):
    """Add ``account``'s dependencies to ``usage`` (``mine(item)``: False
    for items another process counts, as for the re-key)."""
    mine = mine or (lambda item: True)
    lister = run.Rekeyer(app, account)
    base = "/v1/" + account
    usage.scanned["accounts"] += 1
    keymaster = account_keymaster(app)
    if keymaster is not None:
        from swiftcrypt import keymanager
        try:
            usage.hold(account_secret_ids(keymaster, account), account)
        except keymanager.KeyManagerError as err:
            usage.problems.append("account %s: cannot list its secrets: %s" % (account, err))

    def meta(path, level, kind, what):
        resp = _raw_head(app, path)
        if resp.status // 100 != 2:
            usage.problems.append("%s: HEAD answered %s" % (what, resp.status))
            return
        try:
            usage.add(plan.meta_secret_ids(resp.headers, level.crypto_prefix).values(), kind)
        except plan.RekeyError as err:
            usage.problems.append("%s: %s" % (what, err))

    try:
        if mine(account):
            meta(base, ACCOUNT, ACCOUNT_META, "account %s" % account)
        for cont in lister.containers():
            where = "%s/%s" % (account, cont)
            usage.scanned["containers"] += 1
            if mine(where):
                meta("%s/%s" % (base, cont), CONTAINER, CONTAINER_META, "container " + where)
            for entry in lister.entries("%s/%s" % (base, cont), "container " + where):
                name = entry["name"]
                if not mine("%s/%s" % (where, name)):
                    continue
                usage.scanned["objects"] += 1
                _scan_object(app, usage, "%s/%s/%s" % (base, cont, name), entry,
                             "%s/%s" % (where, name))
    except run.ListingError as err:
        usage.problems.append(str(err))


def _scan_object(app, usage, path, entry, what):
    try:
        secret_id = _listing_secret(entry)
        if secret_id is not False:
            usage.add([secret_id], LISTING)
    except CryptoError as err:
        usage.problems.append("%s: listing entry: %s" % (what, err))
    resp = _raw_head(app, path)
    if resp.status == 404:
        return  # gone since the listing: depends on nothing
    if resp.status // 100 != 2:
        usage.problems.append("%s: HEAD answered %s" % (what, resp.status))
        return
    try:
        ids = plan.secret_ids(resp.headers)
    except plan.RekeyError as err:
        usage.problems.append("%s: %s" % (what, err))
        return
    usage.add(ids.values(), OBJECTS)
    if plan.plaintext_parts(resp.headers):
        usage.unencrypted += 1


def lines(usage):
    """The report: one line per secret id, then the totals."""
    unused = usage.unused() or ()
    out = []
    for name in sorted(usage.counts):
        per = usage.counts[name]
        owner = usage.owners.get(name)
        text = "secret %s%s: %s" % (name, "" if owner is None else " (account %s)" % owner,
                                    ", ".join("%s %d" % (k, per[k]) for k in KINDS))
        if name in unused:
            text += " (unused)"
        elif name not in usage.configured and usage.configured:
            text += " (not held by the keymaster: such items cannot be read)"
        out.append(text)
    out.append("scanned %d accounts, %d containers, %d objects; unencrypted objects %d; "
               "unreadable %d%s" % (
                   usage.scanned["accounts"], usage.scanned["containers"],
                   usage.scanned["objects"], usage.unencrypted, len(usage.problems),
                   "" if not usage.problems else
                   " (incomplete: no secret can be said unused)"))
    return out
