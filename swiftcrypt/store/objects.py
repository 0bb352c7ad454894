"""Object requests: PUT, GET, HEAD, POST, DELETE."""

import contextlib
import logging
import math
import os

from swiftcrypt.common import etags, timestamps
from swiftcrypt.common.environ import take_body_hash
from swiftcrypt.common.names import ETAG_IS_AT_HEADER, FOOTERS_CALLBACK
from swiftcrypt.store import conditional, crashpoints, creation, diskfile, expiry, ranges
from swiftcrypt.store.headers import (
    HeaderDict,
    listing_etag_and_bytes,
    object_post_metadata,
    object_put_metadata,
    stored_to_wsgi,
    without_swift_bytes,
    wsgi_to_stored,
)
from swiftcrypt.store.http import (
    ClosingIter,
    as_http_exception,
    error,
    http_date,
    respond,
    status_line,
)

CHUNK = diskfile.CHUNK
log = logging.getLogger("swiftcrypt.store")


class ClientDisconnect(Exception):
    """The request body ended before its Content-Length."""


def _read_body(environ, writer, length):
    inp = environ["wsgi.input"]
    if length is None:
        received = 0
        while True:
            chunk = inp.read(CHUNK)
            if not chunk:
                return
            received += len(chunk)
            creation.check_size(received)
            writer.write(chunk)
    remaining = length
    while remaining > 0:
        chunk = inp.read(min(CHUNK, remaining))
        if not chunk:
            raise ClientDisconnect()
        writer.write(chunk)
        remaining -= len(chunk)


def _stored_meta(meta):
    return {name: wsgi_to_stored(value if isinstance(value, str) else str(value))
            for name, value in meta.items()}


def _set_delete_at(meta, delete_at):
    """Store the validated, normalized expiry (or none) in ``meta``."""
    meta.pop("X-Delete-At", None)
    if delete_at is not None:
        meta["X-Delete-At"] = delete_at


def stamp_of(header):
    """``(seconds, offset)`` of an object header, comparable with
    timestamps.order_key (seconds rounded to the X-Timestamp form)."""
    return float(timestamps.normalize(header["timestamp"])), header.get("timestamp_offset", 0)


def internal_stamp(header):
    """An object header's timestamp as ``X-Backend-Timestamp`` text."""
    return timestamps.internal(header["timestamp"], header.get("timestamp_offset", 0))


def _wsgi_meta(header):
    return HeaderDict((name, stored_to_wsgi(value))
                      for name, value in header["metadata"].items())


def disk_error(start_response, req, err, head=False):
    """507 for a full disk (the data files' or the listing database's),
    else 500; one log line either way."""
    if diskfile.is_disk_full(err):
        log.error("%s %s: no space left on the data disk", req.method, req.path)
        return error(start_response, 507, "no space left on the store's disk", head)
    log.error("%s %s: disk error: %s", req.method, req.path, err.strerror or err)
    return error(start_response, 500, "the store's disk failed", head)


def _names(req):
    return req.account, req.container, req.obj


def _trusted_timestamp(req):
    """``(normal, offset)`` of a PUT's ``X-Timestamp``, None without one;
    ValueError if malformed. Only internal requests carry it: the
    gatekeeper strips it from clients'."""
    value = req.headers.get("X-Timestamp")
    return None if value is None else timestamps.parse(value)


def _put_rules(req, now):
    """``(length, only_new, delete_at, wanted)`` of a PUT: its body length
    (None: chunked), whether it may only create (``If-None-Match: *``), its
    expiry and its trusted X-Timestamp; creation.Refused if it is refused."""
    creation.unsupported("PUT", req.headers, req.query)
    length = creation.body_length(req.headers, req.environ.get("wsgi.input_terminated"))
    only_new = creation.if_none_match_star(req.headers)
    creation.check_content_type(req.headers, req.environ)
    try:
        delete_at = expiry.requested_delete_at(req.headers, now, "PUT")
    except expiry.BadExpiry as err:
        raise creation.Refused(400, str(err)) from None
    try:
        wanted = _trusted_timestamp(req)
    except ValueError:
        raise creation.Refused(400, "X-Timestamp is not a Swift timestamp") from None
    return length, only_new, delete_at, wanted


class ObjectHandlers:
    """Object requests against the store's object files and listing db."""

    def __init__(self, store):
        self.store = store

    def _path(self, req):
        return diskfile.object_path(self.store.objects_dir, req.account, req.container, req.obj)

    def _locked(self, path):
        return self.store.locks.hold(diskfile.object_digest(path))

    @staticmethod
    def _row(header, size):
        """The listing row (put_object's arguments after the name) of an
        object with ``header`` and body ``size``."""
        meta = HeaderDict(header["metadata"])
        etag, listed = listing_etag_and_bytes(
            HeaderDict(_wsgi_meta(header)), header["etag"], size)
        # kept whole, swift_bytes and all: the listing shows it (as
        # Swift's container server does) while the bytes used count `listed`
        ctype = stored_to_wsgi(meta.get("Content-Type", ""))
        return listed, etag, ctype, header["timestamp"], expiry.delete_at_of(meta)

    def _record(self, account, container, name, header, size):
        self.store.db.put_object(account, container, name, *self._row(header, size))

    # Crash consistency. Every change to an object's files goes through
    # _change, under the object's lock: (1) one transaction notes the
    # intent and gives the listing row its new values; (2) the files change
    # by a rename or unlink, which needs no space (everything that does -
    # temp files, directories - was done before (1)); (3) the intent is
    # cleared. A process killed after (1) leaves an intent, and the next
    # start-up (recover) sets the row from whatever the files hold then;
    # a full disk fails (1) and changes nothing.

    def _change(self, names, path, row, file_op, op):
        db = self.store.db
        db.begin_change(*names, row)
        crashpoints.reached(op + "-listed")
        try:
            file_op()
        except BaseException:
            if self._settle(names, path):
                with contextlib.suppress(Exception):  # else start-up clears it
                    db.end_change(*names)
            raise
        crashpoints.reached(op + "-changed")
        try:
            db.end_change(*names)
        except Exception as err:  # the change is done; start-up clears the intent
            log.warning("%s: could not clear its change intent: %s", "/".join(names), err)

    def _settle(self, names, path):
        """Make the listing row match the object's files (its lock held);
        False if that failed (logged)."""
        obj = None
        try:
            obj = diskfile.ObjectFile.open(path)
            if obj is None:
                self.store.db.delete_object(*names)
            else:
                self._record(*names, obj.header, obj.size)
            return True
        except diskfile.CorruptObject as err:
            log.error("object /%s is corrupt (%s: %s); its listing row is left as it was",
                      "/".join(names), err.path, err.fault)
            return True  # nothing better to settle it to
        except Exception as err:
            log.error("object /%s: cannot settle its listing row with its files (retried "
                      "at the next start): %s", "/".join(names), err)
            return False
        finally:
            if obj is not None:
                obj.close()

    def recover(self):
        """Settle the changes a killed process left half-done (see _change);
        returns how many there were."""
        pending = self.store.db.pending_changes()
        for names in pending:
            path = diskfile.object_path(self.store.objects_dir, *names)
            with self._locked(path):
                if self._settle(names, path):
                    self.store.db.end_change(*names)
        if pending:
            log.warning("settled %d object change(s) interrupted by a crash", len(pending))
        return len(pending)

    def rebuild_listing(self):
        """List every object file's object (creating its container and
        account, without metadata), for a listing database started anew
        beside existing object files; returns how many were listed."""
        listed = 0
        for directory, _dirs, files in os.walk(self.store.objects_dir):
            for name in files:
                if not name.endswith(".obj"):
                    continue
                path = os.path.join(directory, name)
                with self._locked(path):
                    try:
                        obj = diskfile.ObjectFile.open(path)
                    except diskfile.CorruptObject as err:
                        log.error("not listing %s: it is corrupt: %s", err.path, err.fault)
                        continue
                    if obj is None:
                        continue
                    with contextlib.closing(obj):
                        names = obj.header.get("name")
                        if not (isinstance(names, list) and len(names) == 3) or \
                                diskfile.object_path(self.store.objects_dir, *names) != path:
                            log.error("not listing %s: its header does not name it", path)
                            continue
                        self.store.db.ensure_container(names[0], names[1],
                                                       obj.header["timestamp"])
                        self._record(*names, obj.header, obj.size)
                        listed += 1
        return listed

    def _open_live(self, path, account, container, name, now):
        """The object at ``path``, or None if there is none or it has
        expired (then it is removed on the spot). Call with its lock held."""
        obj = diskfile.ObjectFile.open(path)
        if obj is None or not expiry.is_expired(HeaderDict(obj.header["metadata"]), now):
            return obj
        obj.close()
        try:
            diskfile.remove(path, sync=False)  # the reaper redoes it after a crash
            self.store.db.delete_object(account, container, name)
        except OSError as err:
            log.warning("could not remove expired object %s: %s", path, err.strerror or err)
        return None

    def reap_expired(self, now, count, account=None, container=None):
        """Remove up to ``count`` (None: all) objects expired at ``now``,
        optionally only of one container; returns how many were removed."""
        rows = self.store.db.expired_objects(now, -1 if count is None else count,
                                             account, container)
        reaped = 0
        for acc, cont, name in rows:
            path = diskfile.object_path(self.store.objects_dir, acc, cont, name)
            with self._locked(path):
                try:
                    obj = self._open_live(path, acc, cont, name, now)
                except diskfile.CorruptObject:
                    log.warning("not reaping %s: its object file is corrupt", path)
                    continue
                if obj is None:
                    if os.path.exists(path):
                        continue  # removing it failed (logged); left for next time
                    self.store.db.delete_object(acc, cont, name)  # gone, or just reaped
                    reaped += 1
                    continue
                # a row older than its file (after a crash): refresh it
                with contextlib.closing(obj):
                    self._record(acc, cont, name, obj.header, obj.size)
        if reaped:
            log.info("reaped %d expired object(s)", reaped)
        return reaped

    def _container_missing(self, start_response, req):
        if self.store.db.get_container(req.account, req.container) is None:
            return error(start_response, 404, "container %s does not exist" % req.container)
        return None

    # PUT

    def put(self, req, start_response):
        """Stream the body to a temp file, apply footers, check the etag,
        publish atomically."""
        missing = self._container_missing(start_response, req)
        if missing is not None:
            return missing
        try:
            length, only_new, delete_at, wanted = _put_rules(req, self.store.clock())
        except creation.Refused as err:
            return error(start_response, err.status, err.reason)
        path = self._path(req)
        if wanted is not None or only_new:
            # refuse before reading the body, as Swift's object server does
            with self._locked(path):
                refused = self._refuse_replacing(req, start_response, path, wanted,
                                                 only_new)
            if refused is not None:
                return refused
        try:
            writer = diskfile.ObjectWriter(self.store.tmp_dir)
        except OSError as err:
            return disk_error(start_response, req, err)
        with writer:
            # The writer hashes every byte it writes; the encrypter directly
            # above (reading from its wsgi.input, nothing between) then skips
            # its own ciphertext MD5 and sends ours as its footer Etag, after
            # checking that we got every byte it produced (the conditions
            # are in swiftcrypt.common.environ). The check below still runs:
            # the stored etag is MD5(the body on disk) either way.
            take_body_hash(req.environ, writer)
            failure = self._receive(req, start_response, writer, length)
            if failure is not None:
                return failure
            footers, failure = self._checked_footers(req, start_response, writer)
            if failure is not None:
                return failure
            header = self._put_header(req, footers, writer, delete_at, wanted)
            failure = self._publish(req, start_response, writer, header, path, wanted,
                                    only_new)
            if failure is not None:
                return failure
        return respond(start_response, 201, [
            # unquoted, as Swift's proxy answers clients (it strips the
            # object server's quotes)
            ("Etag", writer.etag), ("Last-Modified", http_date(header["timestamp"])),
            ("X-Timestamp", timestamps.normalize(header["timestamp"])),
            ("Content-Type", "text/html; charset=UTF-8")])

    def _checked_footers(self, req, start_response, writer):
        """``(footers, None)``: what the pipeline's footers callback adds, the
        body's MD5 matching the etag expected; ``(None, refusal)`` if not."""
        footers = HeaderDict()
        callback = req.environ.get(FOOTERS_CALLBACK)
        if callback is not None:
            try:
                callback(footers)
            except Exception as exc:
                return None, self._failed(req, start_response, exc, "footers callback")
        expected = footers.get("Etag") or req.headers.get("Etag")
        if expected is not None and etags.unquote(expected).lower() != writer.etag:
            return None, error(start_response, 422,
                               "Etag does not match the MD5 of the received body")
        return footers, None

    def _put_header(self, req, footers, writer, delete_at, wanted):
        """The object file's header for the body ``writer`` received."""
        meta = object_put_metadata(req.headers, footers, req.obj)
        meta.pop("Etag", None)
        _set_delete_at(meta, delete_at)
        # kept in the X-Timestamp form it is shown in, as Swift does: the
        # listing's last_modified then matches the object's own timestamp
        timestamp = float(timestamps.normalize(self.store.clock()) if wanted is None
                          else wanted[0])
        header = {"name": [req.account, req.container, req.obj], "etag": writer.etag,
                  "timestamp": timestamp, "metadata": _stored_meta(meta),
                  "version": diskfile.new_version()}
        if wanted is not None and wanted[1]:
            header["timestamp_offset"] = wanted[1]
        return header

    def _publish(self, req, start_response, writer, header, path, wanted, only_new):
        """Move the received object to ``path`` and list it, unless a write
        that landed meanwhile forbids it; None, or the refusal."""
        try:
            writer.finish(header)
            diskfile.make_parent(path)
            with self._locked(path):
                # a client write may have landed while we read the body
                refused = self._refuse_replacing(req, start_response, path, wanted,
                                                 only_new)
                if refused is not None:
                    return refused
                self._change(_names(req), path, self._row(header, writer.size),
                             lambda: writer.publish(path), "put")
        except OSError as err:
            return disk_error(start_response, req, err)
        return None

    def _refuse_replacing(self, req, start_response, path, wanted, only_new):
        """The refusal of a PUT that may not replace what is at ``path``
        (412 for ``If-None-Match: *`` and an object there; see
        _refuse_older for ``wanted``), or None. Call with its lock held."""
        if only_new:
            try:
                obj = self._open_live(path, req.account, req.container, req.obj, self.store.clock())
            except diskfile.CorruptObject:
                obj = None
                exists = True
            else:
                exists = obj is not None
            if obj is not None:
                obj.close()
            if exists:
                return error(start_response, 412, "If-None-Match: * and the object exists")
        if wanted is not None:
            return self._refuse_older(req, start_response, path, wanted)
        return None

    def _refuse_older(self, req, start_response, path, wanted):
        """409 unless the object at ``path`` is older than ``wanted``
        (``(seconds, offset)``); None to go on. Call with its lock held.

        The store keeps no tombstones, so a timestamped PUT only replaces
        an existing object: with none there (deleted meanwhile, say) it
        is refused too, rather than bringing a deleted object back.
        """
        try:
            obj = self._open_live(path, req.account, req.container, req.obj, self.store.clock())
        except diskfile.CorruptObject:
            return error(start_response, 409, "the stored object cannot be read")
        if obj is None:
            return error(start_response, 409, "X-Timestamp given and there is no object "
                         "to replace")
        try:
            current = stamp_of(obj.header)
            if current >= (float(wanted[0]), wanted[1]):
                return respond(start_response, 409, [
                    ("X-Backend-Timestamp", internal_stamp(obj.header)),
                    ("Content-Type", "text/plain; charset=utf-8")],
                    b"the stored object is as new or newer than X-Timestamp\n")
            return None
        finally:
            obj.close()

    def _receive(self, req, start_response, writer, length):
        try:
            _read_body(req.environ, writer, length)
        except ClientDisconnect:
            return error(start_response, 499, "request body ended before Content-Length")
        except creation.Refused as err:
            return error(start_response, err.status, err.reason)
        except ValueError as err:
            # the WSGI server's chunked decoder (eventlet's ChunkReadError is
            # a ValueError): the body is not what the client said it is, and
            # Swift's proxy answers such a client 499 too
            log.warning("PUT %s: the request body is not valid chunked encoding: %s",
                        req.path, type(err).__name__)
            return error(start_response, 499, "the request body is not valid chunked "
                                              "encoding")
        except OSError as err:
            if diskfile.is_disk_full(err):
                return disk_error(start_response, req, err)
            # an OSError not about our disk is the client's connection going away
            log.info("PUT %s: reading the request body failed: %s", req.path,
                     type(err).__name__)
            return error(start_response, 499, "reading the request body failed")
        except Exception as exc:
            return self._failed(req, start_response, exc, "reading the request body")
        return None

    def _failed(self, req, start_response, exc, during):
        http_exc = as_http_exception(exc)
        if http_exc is not None:
            return http_exc(req.environ, start_response)
        log.exception("PUT %s: %s failed", req.path, during)
        return error(start_response, 500, "%s failed; nothing was stored" % during)

    # GET / HEAD

    def get(self, req, start_response):
        """Serve an object, its ranges, or a precondition result."""
        head = req.method == "HEAD"
        path = self._path(req)
        with self._locked(path):
            obj = self._open_live(path, req.account, req.container, req.obj, self.store.clock())
        if obj is None:
            if req.headers.get("If-Match", "").strip() == "*":
                return error(start_response, 412, "If-Match: * and no such object", head)
            return error(start_response, 404, "no such object", head)
        try:
            return self._serve(req, start_response, obj, head)
        except BaseException:
            obj.close()
            raise

    def _serve(self, req, start_response, obj, head):
        header = obj.header
        meta = _wsgi_meta(header)
        size = obj.size
        if "Content-Type" in meta:
            meta["Content-Type"] = without_swift_bytes(meta["Content-Type"])
        headers = [(name, value) for name, value in meta.items()]
        headers += [
            ("Etag", header["etag"]),
            ("Last-Modified", http_date(header["timestamp"])),
            ("X-Timestamp", timestamps.normalize(header["timestamp"])),
            ("X-Backend-Timestamp", internal_stamp(header)),
            ("Accept-Ranges", "bytes"),
        ]
        compare = conditional.etag_to_compare(
            meta, req.headers.get(ETAG_IS_AT_HEADER), header["etag"])
        forced = conditional.evaluate(req.method, req.headers, compare,
                                      math.ceil(float(header["timestamp"])))
        if forced is not None:
            obj.close()
            return respond(start_response, forced, headers + [("Content-Length", "0")])
        last_modified = math.ceil(float(header["timestamp"]))
        wanted = None
        # a HEAD is answered for the whole object, whatever its Range, as
        # swob answers it (200, the full Content-Length)
        if not head and conditional.if_range_allows(req.headers.get("If-Range"), compare,
                                                    last_modified):
            wanted = ranges.parse_range(req.headers.get("Range"), size)
        if wanted == []:
            obj.close()
            # with the object's headers (metadata, Etag, type), as swob answers
            return respond(start_response, 416, headers + [
                ("Content-Range", "bytes */%d" % size)],
                b"Requested range not satisfiable\n", head)
        if wanted is None:
            body = obj.read_range(0, size - 1) if size else iter(())
            return self._send(start_response, obj, 200, headers, size, body, head)
        if len(wanted) == 1:
            first, last = wanted[0]
            headers.append(("Content-Range", ranges.content_range(first, last, size)))
            return self._send(start_response, obj, 206, headers, last - first + 1,
                              obj.read_range(first, last), head)
        boundary = ranges.new_boundary()
        parts, terminator, total = ranges.multipart_layout(
            wanted, size, meta.get("Content-Type", "application/octet-stream"), boundary)
        headers = [(n, v) for n, v in headers if n.lower() != "content-type"]
        headers.append(("Content-Type", "multipart/byteranges;boundary=" + boundary))
        body = ranges.multipart_body(parts, terminator, obj.read_range)
        return self._send(start_response, obj, 206, headers, total, body, head)

    @staticmethod
    def _send(start_response, obj, code, headers, length, body, head):
        respond_headers = headers + [("Content-Length", str(length))]
        if head:
            obj.close()
            return respond(start_response, code, respond_headers, head=True)
        start_response(status_line(code), respond_headers)
        return ClosingIter(body, obj)

    # POST

    def post(self, req, start_response):
        """Replace user metadata and transient sysmeta, keep sysmeta.

        Only the metadata sidecar is written (see diskfile.py), under the
        object's lock; a GET already streaming keeps the version and
        metadata it opened."""
        path = self._path(req)
        now = self.store.clock()
        try:
            creation.unsupported("POST", req.headers, req.query)
            delete_at = expiry.requested_delete_at(req.headers, now, "POST")
        except creation.Refused as err:
            return error(start_response, err.status, err.reason)
        except expiry.BadExpiry as err:
            return error(start_response, 400, str(err))
        try:
            with self._locked(path):
                obj = self._open_live(path, req.account, req.container, req.obj, now)
                if obj is None:
                    return error(start_response, 404, "no such object")
                try:
                    meta = object_post_metadata(_wsgi_meta(obj.header), req.headers)
                    # As in Swift, a POST replaces the expiry too: one
                    # without X-Delete-At(-After) leaves the object without.
                    _set_delete_at(meta, delete_at)
                    timestamp = self.store.clock()
                    header = dict(obj.header, timestamp=timestamp, metadata=_stored_meta(meta))
                    side = diskfile.prepare_meta(self.store.tmp_dir, obj.version, timestamp,
                                                 header["metadata"])
                    try:
                        self._change(_names(req), path, self._row(header, obj.size),
                                     lambda: diskfile.publish_meta(side, path), "post")
                    finally:
                        diskfile.discard(side)  # gone already once published
                finally:
                    obj.close()
        except OSError as err:
            return disk_error(start_response, req, err)
        return respond(start_response, 202, [
            ("Content-Type", "text/html; charset=UTF-8"),
            ("X-Timestamp", timestamps.normalize(timestamp))])

    # DELETE

    def delete(self, req, start_response):
        """Remove an object and its listing row."""
        path = self._path(req)
        try:
            with self._locked(path):
                try:
                    obj = self._open_live(path, req.account, req.container, req.obj,
                                          self.store.clock())
                    live = obj is not None  # an expired one is gone: 404, as in Swift
                    if obj is not None:
                        obj.close()
                except diskfile.CorruptObject:
                    live = True  # deleting a damaged object is how to get rid of it
                existed = live and os.path.exists(path)
                if os.path.exists(path) or os.path.exists(diskfile.meta_path(path)):
                    self._change(_names(req), path, None, lambda: diskfile.remove(path),
                                 "delete")
                else:
                    # no files: drop a stray row, if any
                    self.store.db.delete_object(req.account, req.container, req.obj)
        except OSError as err:
            return disk_error(start_response, req, err)
        if not existed:
            return error(start_response, 404, "no such object")
        return respond(start_response, 204, [("Content-Type", "text/html; charset=UTF-8")])
