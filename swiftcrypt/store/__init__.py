"""The embedded object store: a local-disk backend speaking the Swift API.

``swiftcrypt.store.app`` is the WSGI app (paste ``egg:swiftcrypt#store``);
the other modules are its pure pieces (names, metadata rules, ranges,
conditional requests, listings) and its two kinds of storage (one file per
object, SQLite for listings).
"""
