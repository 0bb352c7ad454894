"""The store WSGI app (paste ``egg:swiftcrypt#store``): dispatch, account
and container requests, and the paste factory."""

import logging
import os
import sqlite3
import time

from swiftcrypt.common import timestamps
from swiftcrypt.common.errors import ConfigError
from swiftcrypt.middleware.constraints import metadata_problem, set_problem
from swiftcrypt.store import diskfile, expiry, listing
from swiftcrypt.store.db import BadDatabase, ListingDB
from swiftcrypt.store.headers import (
    FAKE_ACCOUNT_LISTING,
    HeaderDict,
    listed_type_and_bytes,
    stored_to_wsgi,
    updated_meta,
    wsgi_to_stored,
)
from swiftcrypt.store.http import error, respond
from swiftcrypt.store.locks import ObjectLocks
from swiftcrypt.store.names import BadName, parse_path
from swiftcrypt.store.objects import ObjectHandlers, disk_error
from swiftcrypt.store.request import BadQuery, Request

log = logging.getLogger("swiftcrypt.store")

_ALLOWED = {
    "account": ("GET", "HEAD", "PUT", "POST", "DELETE"),
    "container": ("GET", "HEAD", "PUT", "POST", "DELETE"),
    "object": ("GET", "HEAD", "PUT", "POST", "DELETE"),
}


def _meta_headers(stored):
    return [(name, stored_to_wsgi(value)) for name, value in stored.items()]


def _to_stored(meta):
    return {name: wsgi_to_stored(value) for name, value in meta.items()}


def _to_wsgi(stored):
    return HeaderDict((name, stored_to_wsgi(value)) for name, value in stored.items())


def _metadata_refusal(kind, existing, headers):
    """Why an account or container PUT/POST breaks Swift's metadata limits,
    or None: each item and the request's set as Swift's proxy checks them
    (names, values, count, total, UTF-8), then the set the store would
    keep, as the account and container servers check it. With metadata
    encryption in front, the encrypted values arrive as sysmeta beside
    empty plain headers: the filter checked their plaintext already."""
    prefix = "x-%s-meta-" % kind
    problem = metadata_problem(headers.items(), prefix)
    if problem is not None:
        return problem
    merged = updated_meta(kind, existing, headers)
    return set_problem({name[len(prefix):]: value for name, value in merged.items()
                        if name.lower().startswith(prefix) and value})


def _listing_text(wsgi_value):
    return wsgi_value.encode("latin-1").decode("utf-8", "replace")


class StoreApp:
    """A local-disk object store speaking the Swift API under ``data_dir``.

    ``clock`` (default ``time.time``) is the store's only source of the
    time: new timestamps, expiry and the reaper's schedule."""

    def __init__(self, data_dir, clock=time.time):
        self.clock = clock
        self.data_dir = os.path.abspath(data_dir)
        self.objects_dir = os.path.join(self.data_dir, "objects")
        for directory in (self.data_dir, self.objects_dir):
            os.makedirs(directory, exist_ok=True)
        self.locks = ObjectLocks(os.path.join(self.data_dir, "locks"))
        # removes what dead processes' writes left in tmp/
        self.tmp_dir = diskfile.TempArea(os.path.join(self.data_dir, "tmp"),
                                         os.path.join(self.locks.lock_dir, "tmp.lock")).path
        db_path = os.path.join(self.data_dir, "listing.db")
        fresh = not os.path.exists(db_path)
        self.db = ListingDB(db_path)
        self.objects = ObjectHandlers(self)
        self.objects.recover()
        if fresh:  # a database moved aside (damaged, say) or removed
            listed = self.objects.rebuild_listing()
            if listed:
                log.warning("listing database %s was missing: listed the %d object(s) "
                            "found in %s; account and container metadata were not "
                            "restored", db_path, listed, self.objects_dir)
        self.reaper = expiry.Reaper(self.objects.reap_expired, clock=clock)

    def __call__(self, environ, start_response):
        self.reaper.maybe_run()
        head = environ.get("REQUEST_METHOD") == "HEAD"
        try:
            account, container, obj = parse_path(environ.get("PATH_INFO", ""))
        except BadName as err:
            return error(start_response, err.status, err.reason, head)
        req = Request(environ, account, container, obj)
        level = "object" if obj is not None else "container" if container else "account"
        if req.method not in _ALLOWED[level]:
            return respond(start_response, 405, [("Allow", ", ".join(_ALLOWED[level]))], head=head)
        denied = self._authorize(req, level)
        if denied is not None:
            return denied(environ, start_response)
        try:
            if level == "object":
                handler = {"PUT": self.objects.put, "POST": self.objects.post,
                           "DELETE": self.objects.delete}.get(req.method, self.objects.get)
            else:
                handler = getattr(self, "%s_%s" % (level, req.method.lower()))
            return handler(req, start_response)
        except BadQuery as err:
            return error(start_response, 400, str(err), head)
        except diskfile.CorruptObject as err:
            log.error("%s %s: stored object is corrupt: %s: %s", req.method, req.path,
                      err.path, err.fault)
            return error(start_response, 500, "the stored object is damaged", head)
        except OSError as err:  # the listing database's full disk comes as ENOSPC
            return disk_error(start_response, req, err, head)
        except sqlite3.DatabaseError as err:
            log.error("%s %s: listing database error: %s", req.method, req.path, err)
            return error(start_response, 500, "the store's listing database failed", head)

    def _authorize(self, req, level):
        """Call ``swift.authorize`` as Swift's proxy does, if an auth
        filter (tempauth, keystoneauth) put one in the environ; returns
        the denial response or None."""
        authorize = req.environ.get("swift.authorize")
        if authorize is None or req.environ.get("swift.authorize_override"):
            return None
        # Only Swift's auth filters set swift.authorize, and they expect
        # Swift's own Request; so Swift is importable when we get here.
        from swift.common.swob import Request as SwobRequest
        swob_req = SwobRequest(req.environ)
        if level == "object" or (level == "container" and req.method in ("GET", "HEAD")):
            record = self.db.get_container(req.account, req.container)
            if record is not None:
                acl = "X-Container-Read" if req.method in ("GET", "HEAD") \
                    else "X-Container-Write"
                value = HeaderDict(record["metadata"]).get(acl)
                swob_req.acl = stored_to_wsgi(value) if value is not None else None
        return authorize(swob_req)

    # accounts

    def _account_headers(self, req):
        record = self.db.get_account(req.account)
        containers, objects, used = self.db.account_stats(req.account, self.clock())
        created = record["put_timestamp"] if record else self.clock()
        headers = _meta_headers(record["metadata"] if record else {})
        headers += [
            ("X-Account-Container-Count", str(containers)),
            ("X-Account-Object-Count", str(objects)),
            ("X-Account-Bytes-Used", str(used)),
            ("X-Timestamp", timestamps.normalize(created)),
            ("X-Put-Timestamp", timestamps.normalize(created)),
        ]
        if record is None and not containers:
            headers.append((FAKE_ACCOUNT_LISTING, "yes"))
        return headers

    def account_head(self, req, start_response):
        """Account stats and metadata (an unknown account looks empty)."""
        return respond(start_response, 204, self._account_headers(req) + [
            ("Content-Type", "text/plain; charset=utf-8")], head=True)

    def account_get(self, req, start_response):
        """List the account's containers."""
        def entry(row):
            return {"name": row["name"], "count": row["count"], "bytes": row["bytes"],
                    "last_modified": listing.iso_time(row["timestamp"])}

        now = self.clock()

        def fetch(window, count):
            return self.db.fetch_containers(req.account, window, count, now)

        return self._listing(req, start_response, "account", req.account, fetch, entry,
                             self._account_headers(req))

    def account_put(self, req, start_response):
        """Create an account (201) or update its metadata (202)."""
        refused = self._account_meta_refusal(req, start_response)
        if refused is not None:
            return refused
        created = self.db.ensure_account(req.account, self.clock())
        self._update_account_meta(req)
        return respond(start_response, 201 if created else 202, [])

    def account_post(self, req, start_response):
        """Update account metadata; accounts are auto-created."""
        refused = self._account_meta_refusal(req, start_response)
        if refused is not None:
            return refused
        self.db.ensure_account(req.account, self.clock())
        self._update_account_meta(req)
        return respond(start_response, 204, [])

    def _account_meta_refusal(self, req, start_response):
        record = self.db.get_account(req.account)
        existing = _to_wsgi(record["metadata"]) if record else HeaderDict()
        problem = _metadata_refusal("account", existing, req.headers)
        return None if problem is None else error(start_response, 400, problem)

    def _update_account_meta(self, req):
        record = self.db.get_account(req.account)
        meta = updated_meta("account", _to_wsgi(record["metadata"]), req.headers)
        self.db.set_account_meta(req.account, _to_stored(meta))

    def account_delete(self, req, start_response):
        """Delete an empty account."""
        outcome = self.db.delete_account(req.account)
        if outcome == "not_empty":
            return error(start_response, 409, "account still has containers")
        if outcome == "missing":
            return error(start_response, 404, "no such account")
        return respond(start_response, 204, [])

    # containers

    def _container_headers(self, req, record):
        count, used = self.db.container_stats(req.account, req.container, self.clock())
        headers = _meta_headers(record["metadata"])
        headers += [
            ("X-Container-Object-Count", str(count)),
            ("X-Container-Bytes-Used", str(used)),
            ("X-Timestamp", timestamps.normalize(record["put_timestamp"])),
            ("X-Put-Timestamp", timestamps.normalize(record["put_timestamp"])),
        ]
        return headers

    def container_head(self, req, start_response):
        """Container stats and metadata."""
        record = self.db.get_container(req.account, req.container)
        if record is None:
            return error(start_response, 404, "no such container", head=True)
        return respond(start_response, 204, self._container_headers(req, record) + [
            ("Content-Type", "text/plain; charset=utf-8")], head=True)

    def container_get(self, req, start_response):
        """List the container's objects."""
        record = self.db.get_container(req.account, req.container)
        if record is None:
            return error(start_response, 404, "no such container")

        def entry(row):
            ctype, size = listed_type_and_bytes(row["content_type"], row["bytes"])
            return {"name": row["name"], "hash": _listing_text(row["hash"]),
                    "bytes": size, "content_type": _listing_text(ctype),
                    "last_modified": listing.iso_time(row["timestamp"])}

        now = self.clock()

        def fetch(window, count):
            return self.db.fetch_objects(req.account, req.container, window, count, now)

        return self._listing(req, start_response, "container", req.container, fetch, entry,
                             self._container_headers(req, record))

    def container_put(self, req, start_response):
        """Create a container (201) or update its metadata (202)."""
        record = self.db.get_container(req.account, req.container)
        existing = _to_wsgi(record["metadata"]) if record else HeaderDict()
        problem = _metadata_refusal("container", existing, req.headers)
        if problem is not None:
            return error(start_response, 400, problem)
        meta = updated_meta("container", existing, req.headers)
        created = self.db.put_container(req.account, req.container, self.clock(),
                                        _to_stored(meta))
        return respond(start_response, 201 if created else 202, [])

    def container_post(self, req, start_response):
        """Update container metadata."""
        record = self.db.get_container(req.account, req.container)
        if record is None:
            return error(start_response, 404, "no such container")
        existing = _to_wsgi(record["metadata"])
        problem = _metadata_refusal("container", existing, req.headers)
        if problem is not None:
            return error(start_response, 400, problem)
        meta = updated_meta("container", existing, req.headers)
        self.db.put_container(req.account, req.container, record["put_timestamp"],
                              _to_stored(meta))
        return respond(start_response, 204, [])

    def container_delete(self, req, start_response):
        """Delete an empty container (409 if it has objects)."""
        # expired objects are invisible, so they must not keep it alive
        self.objects.reap_expired(self.clock(), None, req.account, req.container)
        outcome = self.db.delete_container(req.account, req.container)
        if outcome == "not_empty":
            return error(start_response, 409, "container is not empty")
        if outcome == "missing":
            return error(start_response, 404, "no such container")
        return respond(start_response, 204, [])

    # listings

    def _listing(self, req, start_response, kind, name, fetch, entry, headers):
        query = req.query
        fmt = listing.choose_format(query.get("format"), req.headers.get("Accept"))
        if fmt is None:
            return error(start_response, 400, "format must be json, xml or plain")
        limit_text = query.get("limit", "").strip()
        if limit_text:
            if not limit_text.isdigit():
                return error(start_response, 400, "limit must be a non-negative integer")
            limit = int(limit_text)
            if limit > listing.MAX_LIMIT:
                return error(start_response, 412, "Maximum limit is %d" % listing.MAX_LIMIT)
        else:
            limit = listing.DEFAULT_LIMIT
        # path= is Swift's container-server listing; accounts ignore it
        path = query.get("path") if kind == "container" else None
        entries = listing.list_entries(
            fetch, prefix=query.get("prefix", ""), delimiter=query.get("delimiter", ""),
            marker=query.get("marker", ""), end_marker=query.get("end_marker", ""),
            limit=limit, reverse=listing.true_value(query.get("reverse")), path=path)
        headers = headers + [("Content-Type", listing.CONTENT_TYPES[fmt])]
        if not entries and fmt == "plain":
            return respond(start_response, 204, headers)
        body = listing.render(fmt, kind, name, entries, entry)
        return respond(start_response, 200, headers, body)


def app_factory(global_conf, **local_conf):
    """Paste entry point ``egg:swiftcrypt#store``; option ``data_dir``."""
    conf = dict(global_conf, **local_conf)
    data_dir = (conf.get("data_dir") or "").strip()
    if not data_dir:
        raise ConfigError("data_dir", "is required (the directory the store keeps objects in)")
    try:
        return StoreApp(data_dir)
    except BadDatabase as err:
        raise ConfigError("data_dir", str(err)) from None
    except OSError as err:
        raise ConfigError("data_dir", "cannot use %s: %s" % (data_dir, err.strerror or err)) \
            from None
