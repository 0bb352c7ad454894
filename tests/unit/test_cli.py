"""The command line as its user reads it: every command's --help (plain
text, every option explained with its default, the exit-status policy),
--version, and the one exit-status policy, per command."""

import argparse
import subprocess
import sys

import pytest

from swiftcrypt import __version__, cli

from swiftcrypt.cli import exitcodes

COMMANDS = list(cli.SUBCOMMANDS)
NO_DEFAULT = (None, False, [], argparse.SUPPRESS)


def _parsers():
    """(name, parser) for the top level, each command and each action
    under it (keys store, keys check, ...)."""
    found = [("swiftcrypt", cli.build_parser([]))]
    for command in COMMANDS:
        todo = [("swiftcrypt " + command, _sub(cli.build_parser([command]), command))]
        while todo:
            name, parser = todo.pop()
            found.append((name, parser))
            for action in parser._actions:
                if isinstance(action, argparse._SubParsersAction):
                    todo += [("%s %s" % (name, sub), p) for sub, p in action.choices.items()]
    return found


def _sub(parser, name):
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


PARSERS = _parsers()


def test_every_command_and_action_is_walked():
    names = {name for name, _p in PARSERS}
    assert {"swiftcrypt serve", "swiftcrypt rekey", "swiftcrypt bench",
            "swiftcrypt keys shred", "swiftcrypt keys check"} <= names


@pytest.mark.parametrize("name, parser", PARSERS, ids=[n for n, _p in PARSERS])
def test_help_is_plain_text_with_a_whole_description(name, parser):
    text = parser.format_help()
    for markup in ("``", ":ref:", ":func:", "\n.. "):
        assert markup not in text, (name, markup)
    description = (parser.description or "").strip()
    assert description.endswith("."), (name, description)  # never cut mid-sentence


@pytest.mark.parametrize("name, parser", PARSERS, ids=[n for n, _p in PARSERS])
def test_every_option_has_help_and_shows_its_default(name, parser):
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction,
                               argparse._SubParsersAction)) or not action.option_strings:
            continue
        option = action.option_strings[-1]
        assert action.help and action.help is not argparse.SUPPRESS, (name, option)
        if action.default not in NO_DEFAULT and not action.required:
            shown = action.help % {"default": action.default}
            assert "default" in shown, (name, option, action.help)


@pytest.mark.parametrize("name, parser", PARSERS, ids=[n for n, _p in PARSERS])
def test_every_help_ends_with_the_exit_status_policy(name, parser):
    assert exitcodes.POLICY in " ".join(parser.format_help().split()), name


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == "swiftcrypt " + __version__


@pytest.mark.parametrize("argv", [["serve", "--no-such-option"], ["rekey"],
                                  ["keys", "shred"], ["bench", "--rounds", "many"],
                                  ["no-such-command"]])
def test_bad_usage_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == exitcodes.USAGE == 2


def test_serve_config_error_exits_2(tmp_path):
    # a subprocess: serve monkey-patches eventlet into the process it runs in
    proc = subprocess.run(
        [sys.executable, "-m", "swiftcrypt.cli", "serve", "--config",
         str(tmp_path / "missing.conf"), "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == exitcodes.USAGE, proc.stderr
    assert "missing.conf does not exist" in proc.stderr


def test_rekey_config_error_exits_2(tmp_path, capsys):
    status = cli.main(["rekey", "--config", str(tmp_path / "missing.conf"),
                       "--account", "AUTH_test"])
    assert status == exitcodes.USAGE
    assert "missing.conf" in capsys.readouterr().err


def test_keys_config_error_exits_2(tmp_path, capsys):
    status = cli.main(["keys", "check", "--config", str(tmp_path / "missing.conf")])
    assert status == exitcodes.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.conf" in err


@pytest.mark.parametrize("command", COMMANDS)
def test_help_writes_nothing_to_stderr(command):
    # importing Swift's modules (through eventlet and dnspython) printed 16
    # lines of third-party deprecation warnings before every --help
    proc = subprocess.run([sys.executable, "-m", "swiftcrypt.cli", command, "--help"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("usage: swiftcrypt " + command)
    assert proc.stderr == ""
