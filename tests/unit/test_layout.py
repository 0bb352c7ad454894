"""The layout a newcomer reads: the README's map names every module, the
tests' map (tests/README.md) is current, and installing swiftcrypt puts no
generic top-level ``bench`` module into site-packages."""

import importlib.metadata
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _layout_section():
    text = open(os.path.join(ROOT, "README.md")).read()
    start = text.index("## Layout\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else len(text)]


def test_the_readme_map_names_every_module_under_its_folder():
    section = _layout_section()
    missing = []
    for root, dirs, files in os.walk(os.path.join(ROOT, "swiftcrypt")):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        folder = os.path.relpath(root, ROOT).replace(os.sep, "/")
        if folder != "swiftcrypt" and "`%s/`" % folder not in section:
            missing.append(folder + "/")
        for name in files:
            if not name.endswith(".py") or name == "__init__.py":
                continue
            stem = name[:-3]
            # a subpackage's modules are named in its own bullet
            bullet = re.search(r"^- `%s/`.*?(?=^- |\Z)" % re.escape(folder), section,
                               re.S | re.M)
            text = section if folder == "swiftcrypt" else bullet.group(0) if bullet else ""
            if "`%s`" % stem not in text and "`%s`" % name not in text:
                missing.append("%s/%s" % (folder, name))
    assert missing == []


def test_the_tests_map_is_current():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "test-map"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_generic_bench_package_is_installed(tmp_path):
    top = importlib.metadata.distribution("swiftcrypt").read_text("top_level.txt")
    assert set(top.split()) <= {"swiftcrypt", "swiftcrypt_bench"}, top
    # outside a clone (no ./bench on the path) there is no "bench" to import,
    # and the harness is there under its own name
    probe = subprocess.run(
        [sys.executable, "-c", "import importlib.util as u; "
         "print(u.find_spec('bench') is None, u.find_spec('swiftcrypt_bench') is not None)"],
        capture_output=True, text=True, cwd=str(tmp_path))
    assert probe.stdout.split() == ["True", "True"], probe.stderr
