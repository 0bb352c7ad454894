"""Replay every committed fuzz input through its target: each crash the
fuzzer ever found stays a regression test (tests/fuzz/README)."""

import os

import pytest

from tests.fuzz import targets

CORPUS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "fuzz", "corpus")


def _inputs():
    for name in sorted(targets.TARGETS):
        folder = os.path.join(CORPUS, name)
        for entry in sorted(os.listdir(folder)):
            yield pytest.param(name, os.path.join(folder, entry), id="%s/%s" % (name, entry))


def test_every_target_has_a_corpus():
    for name in targets.TARGETS:
        folder = os.path.join(CORPUS, name)
        assert os.path.isdir(folder) and os.listdir(folder), name


@pytest.mark.parametrize("target,path", list(_inputs()))
def test_corpus_input(target, path):
    with open(path, "rb") as f:
        data = f.read()
    targets.TARGETS[target](data)  # raises on a bug


def test_targets_refuse_quietly_and_report_invariants():
    """The targets themselves: garbage is a refusal, not a finding."""
    for target in targets.TARGETS.values():
        target(b"")
        target(b"\xff\x00garbage; swift_meta=%7B")


def test_header_seeds_really_decrypt():
    """The seeds reach the deep paths: real headers decrypt with the
    targets' keys (else the fuzzer would only ever explore refusals)."""
    from swiftcrypt.middleware.decrypter import ObjectKeys, decrypt_object_headers

    folder = os.path.join(CORPUS, "decrypt_headers")
    decrypted = []
    for entry in sorted(e for e in os.listdir(folder) if e.startswith("seed-")):
        with open(os.path.join(folder, entry), "rb") as f:
            headers = targets._headers(f.read())
        if any(name.lower() == "x-object-sysmeta-crypto-body-meta" for name, _v in headers):
            result = decrypt_object_headers(headers, ObjectKeys(targets.keys_environ()))
            decrypted.append(result)
    assert decrypted and all(len(r.etag) == 32 and len(r.body_key) == 32 for r in decrypted)


def test_db_meta_seeds_really_decrypt():
    """The account and container seeds hold values that decrypt (at their
    own path) and values the decrypter must refuse (at another one)."""
    folder = os.path.join(CORPUS, "db_meta_decrypt")
    readable = refused = 0
    for entry in sorted(e for e in os.listdir(folder) if e.startswith("seed-")):
        with open(os.path.join(folder, entry), "rb") as f:
            first, _nl, rest = f.read().decode("latin-1").partition("\n")
        _method, _path, level, account, container = targets._db_request(first)
        want = "/" + account + ("" if container is None else "/" + container)
        values = [v for n, v in targets._headers(rest.encode("latin-1"))
                  if n.lower().startswith(level.crypto_prefix.lower())]
        plain = [targets._expected_plaintext(v, want) for v in values]
        assert values
        if all(p is not None for p in plain):
            readable += 1
        else:
            refused += 1
    assert readable >= 3 and refused >= 2
