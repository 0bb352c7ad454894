"""tox.ini as an OpenStack developer uses it: every pyXY environment runs
the unit and compatibility tests, every environment says what it is, and
plain `tox` leaves the integration suite alone."""

import configparser
import os
import re

import pytest

TOX_INI = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "tox.ini")
# the names of the openstack-tox-pyXY jobs, and the generic one
PY_ENVS = ("py39", "py310", "py311", "py312", "py313", "py3")
INTEGRATION = "tests/integration"


def _tox():
    parser = configparser.ConfigParser(interpolation=None)
    with open(TOX_INI) as f:
        parser.read_file(f)
    return parser


def _lines(value):
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


def _factor_value(value, env):
    """The lines of a tox setting that apply to ``env`` (tox's factor
    conditions, ``a,b: value`` / ``{a,b}: value``, resolved)."""
    kept = []
    for line in _lines(value):
        match = re.match(r"^([\w{},!-]+):\s+(.*)$", line)
        if match is None:
            kept.append(line)
            continue
        factors = set(re.sub(r"[{}]", "", match.group(1)).split(","))
        if set(env.split("-")) & factors:
            kept.append(match.group(2))
    return kept


def _setting(tox, env, key):
    section = "testenv:" + env
    if tox.has_section(section) and tox.has_option(section, key):
        return _factor_value(tox.get(section, key), env)
    return _factor_value(tox.get("testenv", key, fallback=""), env)


def _envs(tox):
    return [s.split(":", 1)[1] for s in tox.sections() if s.startswith("testenv:")]


@pytest.mark.parametrize("env", PY_ENVS)
def test_every_python_env_runs_unit_and_compat_tests(env):
    commands = " ".join(_setting(_tox(), env, "commands"))
    assert "pytest" in commands and "tests/unit" in commands and "tests/compat" in commands, \
        (env, commands)
    assert INTEGRATION not in commands


def test_every_env_has_a_description():
    tox = _tox()
    for env in list(PY_ENVS) + _envs(tox):
        description = " ".join(_setting(tox, env, "description"))
        assert description, env
        # a description starting "word:" would be taken as a factor condition
        assert not re.match(r"^\w+:\s", tox.get("testenv:" + env, "description",
                                                   fallback="x")), env


def test_plain_tox_does_not_start_the_integration_suite():
    tox = _tox()
    envlist = [e.strip() for e in tox.get("tox", "envlist").split(",") if e.strip()]
    assert "py3" in envlist
    for env in envlist:
        commands = " ".join(_setting(tox, env, "commands"))
        assert INTEGRATION not in commands and not commands.endswith("pytest tests"), env
        assert not re.search(r"pytest tests(\s|$)", commands), env
