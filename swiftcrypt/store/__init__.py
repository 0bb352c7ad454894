"""The embedded object store: a local-disk backend speaking the Swift API.

``swiftcrypt.store.app`` is the WSGI app (paste ``egg:swiftcrypt#store``);
the other modules are its pure pieces (names, metadata rules, ranges,
conditional requests, listings, expiry) and its storage: one data file per
object plus a metadata sidecar once it is POSTed (diskfile.py), per-object
locks that keep the two and the listing row in step (locks.py), and SQLite
for listings (db.py).
"""
