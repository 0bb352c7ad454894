"""Coverage-guided fuzzing of one target with atheris.

    python tests/fuzz/fuzz.py <target> [libFuzzer options]

grows ``corpus/<target>/`` (new inputs are written there: commit them)
and stops on the first crash, leaving it as ``crash-*`` in the current
directory: copy it into the corpus and fix the bug; the corpus replay
test (tests/unit/test_fuzz_corpus.py) then keeps it fixed. See run.sh.
"""

import os
import sys

import atheris

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

with atheris.instrument_imports():
    from tests.fuzz import targets  # noqa: E402


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in targets.TARGETS:
        sys.exit("usage: fuzz.py {%s} [libFuzzer options]" % ",".join(targets.TARGETS))
    name = sys.argv[1]
    corpus = os.path.join(HERE, "corpus", name)
    os.makedirs(corpus, exist_ok=True)
    # libFuzzer re-runs argv[0] through the shell for -merge=1 and forks:
    # make it a command line that needs no executable bit.
    me = "%s %s %s" % (sys.executable, os.path.abspath(__file__), name)
    argv = [me] + sys.argv[2:] + [corpus]
    atheris.Setup(argv, targets.TARGETS[name])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
