"""Fast paths, fenced off (as pyca/cryptography fences ``hazmat``).

Each module here does by hand what a readable reference beside it does,
because the reference cost too much on a hot path (measured: listing
etags, per-request headers). Each names its reference and is
differential-tested against it with hypothesis (tests/unit/test_fast_*):
the same output for every input, and where a fast path does not cover an
input it says so (None) and the caller takes the reference.

- ``ctr``: ``ShortCtr``, AES-CTR built on ECB for many short values under
  one key, and ``ShortCtrCache``, one per key reused across requests (safe
  to share between threads). Reference: cryptography's CTR mode
  (``crypto.ciphers.AesCtr``).
- ``hmac``: ``Sha256Hmac``, HMAC-SHA256 from a key's two padded SHA-256
  states kept with it, and ``MacCache``, one per key reused across
  requests. Reference: ``crypto.derivation.hmac_sha256``.
- ``cryptometa_templates``: crypto-meta dumped and parsed from templates
  of the shapes written on every request. Reference: the JSON route of
  ``crypto.cryptometa`` (``dump_json``, ``load_json``).
- ``listing_etag``: a stored listing etag split by one regex, its
  container key named by text, so that a listing's entries skip the
  crypto-meta parser once their container's key is known. Reference:
  ``crypto.listing_etag.decrypt``.

Who may use them: the crypto core (``crypto.cryptometa``, ``crypto.body``)
and the filters that handle many values under one key (the encrypter,
decrypter, listings, rekey), always on inputs the reference takes. New
code should use the reference unless a measurement says otherwise; a
change here needs its differential test to pass.
"""
