"""Swift is optional: without it the filters fall back to their own error
classes, responses and logging; a Swift that is installed but fails to
import is an error that shows, never a silent change of those classes'
bases (which Swift's filters would then no longer recognise)."""

import json
import os
import subprocess
import sys
import textwrap

# Each check runs in a fresh interpreter, prints a JSON result.
CHECKS = {
    "errors": "import swiftcrypt.common.errors as m; "
              "out = [c.__module__ + '.' + c.__name__ for c in m.CryptoError.__mro__]",
    "httperrors": "from swiftcrypt.common.httperrors import error_exception; "
                  "out = type(error_exception(422, 'x')).__module__",
    "logs": "from swiftcrypt.common.logs import get_logger; "
            "out = type(get_logger({'log_name': 'proxy'}, 'encryption')).__name__",
}

RUNNER = textwrap.dedent("""
    import json, sys
    if sys.argv[2] == "absent":
        sys.modules["swift"] = None  # import swift... raises ImportError
    try:
        exec(sys.argv[1])
        print(json.dumps({"ok": out}))
    except BaseException as err:
        print(json.dumps({"raised": "%s: %s" % (type(err).__name__, err)}))
""")

BROKEN = {  # a Swift whose modules fail as a bad install does (not ImportError)
    "swift/__init__.py": "",
    "swift/common/__init__.py": "",
    "swift/common/exceptions.py": "raise RuntimeError('broken swift install')\n",
    "swift/common/swob.py": "raise RuntimeError('broken swift install')\n",
    "swift/common/utils.py": "raise RuntimeError('broken swift install')\n",
}


def _run(check, mode, tmp_path):
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = [root]
    if mode == "broken":
        for name, text in BROKEN.items():
            target = tmp_path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        path.insert(0, str(tmp_path))
    env["PYTHONPATH"] = os.pathsep.join(path)
    proc = subprocess.run([sys.executable, "-c", RUNNER, CHECKS[check], mode],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_without_swift_the_filters_use_their_own_classes(tmp_path):
    assert _run("errors", "absent", tmp_path) == {
        "ok": ["swiftcrypt.common.errors.CryptoError", "builtins.Exception",
               "builtins.BaseException", "builtins.object"]}
    assert _run("httperrors", "absent", tmp_path) == {"ok": "webob.exc"}
    assert _run("logs", "absent", tmp_path) == {"ok": "Logger"}


def test_with_swift_they_use_swifts(tmp_path):
    mro = _run("errors", "installed", tmp_path)["ok"]
    assert "swift.common.exceptions.EncryptionException" in mro
    assert _run("httperrors", "installed", tmp_path) == {"ok": "swift.common.swob"}


def test_a_broken_swift_install_is_an_error_not_a_fallback(tmp_path):
    for check in CHECKS:
        assert _run(check, "broken", tmp_path) == {
            "raised": "RuntimeError: broken swift install"}, check
