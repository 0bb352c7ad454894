"""swiftcrypt beside the Swift releases operators run (swift_versions.py):
2.27 (on Python 3.9), 2.29, 2.33 and 2.38, each in a cached venv.

- test_interchange: tests/compat/test_swift_interchange.py run inside each
  venv: Swift's keymaster + encryption and swiftcrypt's write and read each
  other's objects (bodies, etags, user metadata, listing etags, ranges,
  conditionals, key id versions 1-3, rotation) over one store.
- test_functional_oldest: Swift 2.27's own functional tests (test_object.py,
  tests.py, from its sdist) on a 2.27 cluster with swiftcrypt's filters:
  each test's outcome as with Swift 2.27's own encryption.

The venvs build once (~30-60 s each) under ${SWIFTCRYPT_CACHE:-~/.cache/swiftcrypt}.
"""
