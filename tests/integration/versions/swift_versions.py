"""The Swift releases operators run, each in a cached venv on a Python it
supports, with swiftcrypt (this checkout, ``pip install -e``) beside it.

    venv = swift_venv("2.27.0")
    subprocess.run([venv.python, "-m", "pytest", ...], cwd=REPO_ROOT)

The venv is rebuilt when its pins or swiftcrypt's setup.py change (its code
is the checkout's own, editable); VenvError when it cannot be built, so the
tests using it fail, never skip.
"""

import hashlib
import os

from tests.integration.servers import venvs

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

#: Swift release -> the Python it runs on here: 2.27 (Wallaby, the LTS
#: distributions' oldest) on 3.9 as they ship it; 2.29 (Yoga), 2.33
#: (2023.2) and 2.38 (2025.2) on the newest Python each supports here.
VERSIONS = {"2.27.0": "3.9", "2.29.2": "3.10", "2.33.1": "3.11", "2.38.3": "3.12"}
OLDEST = "2.27.0"

# what the tests run in the venv import beyond swift and swiftcrypt (Swift's
# functional tests: swiftclient, xattr, and mock before 2.3x; pytest runs
# them and ours)
TEST_REQUIREMENTS = ["pytest", "python-swiftclient", "xattr", "mock"]
# and what our unit tests import, where they run (the oldest): setup.py's
# test extra without its swift pin
UNIT_REQUIREMENTS = ["hypothesis", "psutil", "requests", "matplotlib"]


def _setup_key():
    with open(os.path.join(REPO_ROOT, "setup.py"), "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()[:12]


def swift_venv(version):
    """A ready venv with ``swift==version`` on VERSIONS[version]'s Python and
    swiftcrypt installed from this checkout."""
    return venvs.ensure(
        "swift-%s-py%s" % (version, VERSIONS[version]),
        ["swift==%s" % version] + TEST_REQUIREMENTS
        + (UNIT_REQUIREMENTS if version == OLDEST else []) + ["-e", REPO_ROOT],
        check=["-c", "import swift, swiftcrypt.middleware.encryption, "
                     "swift.common.middleware.crypto"],
        python=venvs.pyenv_python(VERSIONS[version]), key=_setup_key())
