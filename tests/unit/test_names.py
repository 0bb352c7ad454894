"""swiftcrypt.common.names is the one home of the names the pieces agree
on: no other module of the package spells one of them again."""

import os
import re

from swiftcrypt.common import names

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "swiftcrypt")

# Each fact, as a copy would spell it in a string literal (any case).
FACTS = [
    names.CIPHER, names.BODY_META, names.ETAG_MAC, names.OVERRIDE_ETAG,
    names.USER_META_SET, names.KEYS_CALLBACK, names.CRYPTO_OVERRIDE,
    names.FOOTERS_CALLBACK, names.KEYS_FOR_WRITE, names.ETAG_IS_AT,
    names.ETAG_IS_AT_HEADER,
    "Sysmeta-Crypto-Meta-",
] + list(names.CRYPTO_PREFIXES)


def _copies():
    found = []
    pattern = re.compile("|".join(r"[\"']%s[\"']?" % re.escape(f) for f in FACTS), re.I)
    for root, _dirs, files in os.walk(PACKAGE):
        for name in files:
            path = os.path.join(root, name)
            if not name.endswith(".py") or path == names.__file__:
                continue
            for number, line in enumerate(open(path, encoding="utf-8"), 1):
                code = line.split("#", 1)[0]
                if pattern.search(code) and '``' not in code:
                    found.append("%s:%d: %s" % (os.path.relpath(path, PACKAGE), number,
                                                line.strip()))
    return found


def test_no_module_spells_a_crypto_name_again():
    assert _copies() == []


def test_the_names_are_swifts():
    # interchange with Swift's own crypto middleware depends on these
    from swift.common.middleware.crypto import crypto_utils
    assert names.KEYS_CALLBACK == crypto_utils.CRYPTO_KEY_CALLBACK
    assert names.CIPHER == crypto_utils.Crypto.cipher
    assert names.db_meta_prefix("Container") == "X-Container-Sysmeta-Crypto-Meta-"
    assert names.ETAG.lower().startswith(names.CRYPTO_PREFIXES[0])
    assert names.USER_META_SET.lower().startswith(names.CRYPTO_PREFIXES[1])
    assert names.ETAG_IS_AT == "HTTP_X_BACKEND_ETAG_IS_AT"
