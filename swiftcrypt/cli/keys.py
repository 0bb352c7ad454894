"""``swiftcrypt keys``: root secrets in Barbican.

- ``keys store --config FILE``: store each inline root secret of a
  ``keymaster`` config (``encryption_root_secret*``) in Barbican, in the
  form kms_keymaster expects (symmetric, AES, raw bytes), and print the
  ``key_id`` lines for the kms_keymaster config. Objects written before
  keep reading: the secrets are the same.
- ``keys create``: have Barbican generate a 256-bit AES key; print its id.
- ``keys check --config FILE``: fetch every configured ``key_id*``, report
  ok or what is wrong per id; exit status 1 if any is wrong.
- ``keys account --account A``: list account A's per-account root secrets
  (account_keymaster) and which one it writes with.
- ``keys rotate --account A``: add a new root secret for account A; it
  becomes the one A writes with (then ``swiftcrypt rekey`` A's objects);
  checked in Barbican's listing afterwards, and taken back if it would not.
- ``keys shred --account A --yes``: delete account A's root secret(s) from
  Barbican (``--secret-id`` just one, e.g. the old one after a rotation and
  re-key; not the one writes use unless ``--force``): the objects written
  with them can never be decrypted again.

Barbican connection options (``auth_type``, ``auth_endpoint``,
``username``, ``barbican_endpoint``, ...) are read from the kms_keymaster
section of the config file (``[kms_keymaster]``, ``[filter:kms_keymaster]``
or a paste section using ``#kms_keymaster``; its ``keymaster_config_path``
is followed), else from ``--kms-config``, else from the ``OS_*``
environment variables; for the account actions from the
account_keymaster section (``[account_keymaster]``,
``[filter:account_keymaster]`` or ``#account_keymaster``). Secret bytes are
never printed.
"""

import datetime
import os
import sys

from swiftcrypt import keymanager
from swiftcrypt.cli import exitcodes
from swiftcrypt.common.errors import ConfigError
from swiftcrypt.common.options import ConfigFileError, read_config_file
from swiftcrypt.keymanager import barbican
from swiftcrypt.keymanager.base import check_root_secret
from swiftcrypt.keymasters import account_secrets, config_keymaster, kms_keymaster

EXIT_WRONG = exitcodes.FAILED
EXIT_USAGE = exitcodes.USAGE
EXIT_DETAILS = {
    "keys": "For keys: 1 when a secret is WRONG, missing or not deleted, or Barbican "
            "cannot be reached; 2 for a config error.",
    "store": "For store: 1 when Barbican refuses or cannot be reached (the lines printed "
             "before name what was stored).",
    "create": "For create: 1 when Barbican refuses or cannot be reached.",
    "check": "For check: 1 when any key_id is WRONG (one line each).",
    "account": "For account: 1 when the account has no root secret.",
    "rotate": "For rotate: 1 when Barbican fails; 2 when the newest secret is too recent "
              "to rotate again yet.",
    "shred": "For shred: 1 when a secret was NOT deleted or there is none; 2 without "
             "--yes (nothing deleted) or for a --secret-id that cannot be shredded.",
    "usage": "For usage: 1 when something could not be read (the counts are incomplete "
             "and no secret is called unused); 2 for a config that cannot be loaded, an "
             "unknown account or --process out of range.",
}


def configure(parser):
    """Add the ``keys`` actions and their options."""
    parser.description = ("Root secrets in Barbican: store a keymaster config's secrets, "
                          "create and check them; list, rotate and shred an account's "
                          "own (account_keymaster). Secret bytes are never printed.")
    parser.epilog = exitcodes.epilog(EXIT_DETAILS["keys"])
    sub = parser.add_subparsers(dest="keys_command", metavar="ACTION")
    sub.required = True
    barbican_actions = [("store", _add_store(sub)), ("create", _add_create(sub)),
                        ("check", _add_check(sub))]
    barbican_actions += _add_account_actions(sub)
    _add_usage(sub)
    for name, p in barbican_actions:
        p.description = p.description or _sentence(sub, name)
        p.epilog = exitcodes.epilog(EXIT_DETAILS[name])
        p.add_argument("--timeout", type=float, metavar="SECONDS",
                       help="seconds per Barbican request (default: the config's "
                            "timeout, else 10)")


def _add_store(sub):
    store = sub.add_parser("store", help="store a keymaster config's root secrets in Barbican")
    store.add_argument("--config", required=True, metavar="FILE",
                       help="config holding the keymaster's encryption_root_secret* options")
    store.add_argument("--section", metavar="NAME",
                       help="the keymaster section (default: keymaster, filter:keymaster, or "
                            "the one using #keymaster)")
    store.add_argument("--kms-config", metavar="FILE",
                       help="kms_keymaster config with the Barbican connection options "
                            "(default: the --config file, then OS_* variables)")
    store.add_argument("--name", default="swiftcrypt root secret", metavar="NAME",
                       help="name prefix for the secrets in Barbican "
                            "(default: %(default)s)")
    return store


def _add_create(sub):
    create = sub.add_parser("create", help="have Barbican generate a new 256-bit AES secret")
    create.add_argument("--config", metavar="FILE",
                        help="kms_keymaster config with the connection options "
                             "(default: OS_* variables)")
    create.add_argument("--name", default="swiftcrypt root secret", metavar="NAME",
                        help="the secret's name in Barbican (default: %(default)s)")
    create.add_argument("--bits", type=int, default=256, choices=(256, 384, 512),
                        help="key length in bits (default: %(default)s)")
    return create


def _add_check(sub):
    check = sub.add_parser("check", help="fetch and check every configured key_id")
    check.add_argument("--config", required=True, metavar="FILE",
                       help="kms_keymaster config (or a proxy config with such a filter)")
    return check


def _add_account_actions(sub):
    """``account``, ``rotate`` and ``shred``: an account's own secrets."""
    account = sub.add_parser("account", help="list an account's per-account root secrets")
    rotate = sub.add_parser("rotate", help="add a new per-account root secret (writes use it)")
    shred = sub.add_parser("shred", help="delete an account's root secret(s): crypto-shred it")
    shred.add_argument("--yes", action="store_true",
                       help="really delete (without it, only say what would be deleted)")
    shred.add_argument("--secret-id", metavar="ID",
                       help="delete only this one of the account's secrets")
    shred.add_argument("--force", action="store_true",
                       help="with --secret-id: delete it even if writes use it now")
    for p in (account, rotate, shred):
        p.add_argument("--account", required=True, metavar="ACCOUNT",
                       help="the Swift account, e.g. AUTH_test")
        p.add_argument("--config", metavar="FILE",
                       help="config with the account_keymaster section (default: OS_* "
                            "variables)")
    return [("account", account), ("rotate", rotate), ("shred", shred)]


def _add_usage(sub):
    usage = sub.add_parser(
        "usage", help="count, per root secret id, the objects, listing entries and account "
                      "and container metadata values that still depend on it")
    usage.add_argument("--config", required=True, metavar="PIPELINE.conf",
                       help="the re-key tool's internal pipeline (see doc/rekey.md)")
    from swiftcrypt.cli.accountselect import add_account_options
    add_account_options(usage)
    usage.add_argument("--json", metavar="FILE", help="also write the counts to FILE as JSON")
    usage.description = _sentence(sub, "usage")
    usage.epilog = exitcodes.epilog(EXIT_DETAILS["usage"])


def _sentence(sub, name):
    text = next(a.help for a in sub._choices_actions if a.dest == name)
    return text[0].upper() + text[1:] + "."


# -- config files ---------------------------------------------------------------

def _read(path):
    try:
        return read_config_file(path)
    except ConfigFileError as err:
        raise ConfigError("--config", str(err)) from err.__cause__


def find_section(parser, name, section=None):
    """Options of the ``name`` filter's section, or None if there is none."""
    if section is not None:
        return dict(parser.items(section)) if parser.has_section(section) else None
    for candidate in (name, "filter:" + name):
        if parser.has_section(candidate):
            return dict(parser.items(candidate))
    for candidate in parser.sections():
        use = parser.get(candidate, "use", fallback="") or ""
        if use.strip().endswith("#" + name):
            return dict(parser.items(candidate))
    return None


def kms_options(path=None, environ=None):
    """Resolved kms_keymaster options from ``path``, else ``OS_*``."""
    if path:
        conf = find_section(_read(path), kms_keymaster.SECTION)
        if conf is None:
            raise ConfigError("--config", "%s has no [%s] or [filter:%s] section" % (
                path, kms_keymaster.SECTION, kms_keymaster.SECTION))
        return kms_keymaster.kms_conf(conf)
    return barbican.options_from_env(environ)


def _with_timeout(conf, args):
    conf = dict(conf)
    if getattr(args, "timeout", None) is not None:
        conf["timeout"] = str(args.timeout)
    return conf


# -- actions ------------------------------------------------------------------

def do_store(args, out):
    parser = _read(args.config)
    conf = find_section(parser, "keymaster", args.section)
    if conf is None:
        raise ConfigError("--config", "%s has no keymaster section (use --section)" % args.config)
    resolved = config_keymaster.keymaster_conf(conf)
    roots = config_keymaster.root_secrets_from_conf(resolved)
    if args.kms_config:
        conn = kms_options(args.kms_config)
    elif find_section(parser, kms_keymaster.SECTION) is not None:
        conn = kms_options(args.config)
    else:
        conn = barbican.options_from_env()
    conn = _with_timeout(conn, args)
    manager = kms_keymaster.make_key_manager(conn)
    retries = barbican.BarbicanOptions.from_conf(conn).retries
    lines = []
    for secret_id in roots.ids():
        name = "%s %s" % (args.name, secret_id if secret_id is not None else "(default)")
        payload = roots.get(secret_id)
        key_id = keymanager.call_with_retries(
            lambda p=payload, n=name: manager.store_secret(p, name=n), retries=retries)
        option = "key_id" if secret_id is None else "key_id_%s" % secret_id
        lines.append("%s = %s" % (option, key_id))
    out.write("# %d root secret(s) stored in %s; for the kms_keymaster config:\n"
              % (len(lines), manager.description))
    for line in lines:
        out.write(line + "\n")
    if roots.active_id is not None:
        out.write("active_root_secret_id = %s\n" % roots.active_id)
    return 0


def do_create(args, out):
    conn = _with_timeout(kms_options(args.config), args)
    manager = kms_keymaster.make_key_manager(conn)
    key_id = manager.create_secret(name=args.name, bit_length=args.bits)
    out.write("%s\n" % key_id)
    return 0


def do_check(args, out):
    conn = _with_timeout(kms_options(args.config), args)
    key_ids = {}
    for option, value in conn.items():
        if kms_keymaster.secret_id_of(option) is not False:
            key_ids[option] = (value or "").strip()
    if not key_ids:
        raise ConfigError("key_id", "no key_id is configured in %s" % args.config)
    manager = kms_keymaster.make_key_manager(conn)
    retries = barbican.BarbicanOptions.from_conf(conn).retries
    wrong = 0
    for option in sorted(key_ids, key=lambda o: (o != "key_id", o)):
        key_id = key_ids[option]
        if not key_id:
            out.write("%s: WRONG: is empty\n" % option)
            wrong += 1
            continue
        try:
            secret = keymanager.call_with_retries(
                lambda k=key_id: manager.get_secret(k), retries=retries)
            payload = check_root_secret(secret)
        except keymanager.KeyManagerError as err:
            out.write("%s: WRONG: %s\n" % (option, err))
            wrong += 1
        else:
            out.write("%s: ok: secret %s (AES, %d bits)\n" % (option, key_id, len(payload) * 8))
    active = conn.get("active_root_secret_id") or None
    active_option = "key_id" if active is None else "key_id_%s" % active
    if active_option not in key_ids:
        out.write("active_root_secret_id: WRONG: no %s option\n" % active_option)
        wrong += 1
    return EXIT_WRONG if wrong else 0


def account_manager(args):
    """``(key manager, retries)`` from the account_keymaster section of
    ``--config``, else from ``OS_*``."""
    from swiftcrypt.keymasters import account_keymaster

    if args.config:
        conf = find_section(_read(args.config), account_keymaster.SECTION)
        if conf is None:
            raise ConfigError("--config", "%s has no [%s] or [filter:%s] section" % (
                args.config, account_keymaster.SECTION, account_keymaster.SECTION))
        conn = account_keymaster.account_conf(conf)
    else:
        conn = barbican.options_from_env()
    options = barbican.BarbicanOptions.from_conf(_with_timeout(conn, args))
    return barbican.BarbicanKeyManager(options), options.retries


def _account_secrets(manager, account, retries):
    name = account_secrets.secret_name(account)
    return keymanager.call_with_retries(lambda: manager.list_secrets(name), retries=retries)


def do_account(args, out, manager=None, retries=0):
    if manager is None:
        manager, retries = account_manager(args)
    infos = _account_secrets(manager, args.account, retries)
    if not infos:
        out.write("account %s: no root secret in %s\n" % (args.account, manager.description))
        return EXIT_WRONG
    chosen = account_secrets.canonical(infos)
    for info in infos:
        out.write("%s created %s%s\n" % (info.key_id, info.created,
                                          " (writes use it)" if info is chosen else ""))
    return 0


def do_rotate(args, out, manager=None, retries=0, now=None):
    if manager is None:
        manager, retries = account_manager(args)
    infos = _account_secrets(manager, args.account, retries)
    if infos and infos[-1].created is not None:
        newest = infos[-1].created
        now = now if now is not None else datetime.datetime.now(newest.tzinfo)
        age = (now - newest).total_seconds()
        if age <= account_secrets.GENERATION_WINDOW:
            # a newer secret within the window would not win (see canonical)
            raise ConfigError("--account", "the newest secret of %s is only %ds old; rotate "
                              "again after %ds" % (args.account, age,
                                                   account_secrets.GENERATION_WINDOW))
    key_id = keymanager.call_with_retries(lambda: manager.store_secret(
        os.urandom(account_secrets.SECRET_BYTES), name=account_secrets.secret_name(args.account)),
        retries=retries)
    # The key manager's creation times decide, not our clock: check that
    # the new secret is the one writes will use, else take it back.
    infos = _account_secrets(manager, args.account, retries)
    chosen = account_secrets.canonical(infos)
    if chosen is None or chosen.key_id != key_id:
        keymanager.call_with_retries(lambda: manager.delete_secret(key_id), retries=retries)
        raise ConfigError("--account", "the new secret of %s would not be the one writes use "
                          "(the key manager dates it within %ds of %s: clock skew?); it was "
                          "deleted: rotate again after %ds" % (
                              args.account, account_secrets.GENERATION_WINDOW,
                              chosen.key_id if chosen is not None else "another secret",
                              account_secrets.GENERATION_WINDOW))
    out.write("%s\n" % key_id)
    out.write("# account %s writes with it once proxies' caches expire (cache_ttl); "
              "then run swiftcrypt rekey for the account, and shred --secret-id the old "
              "one(s)\n" % args.account)
    return 0


def do_shred(args, out, manager=None, retries=0):
    if manager is None:
        manager, retries = account_manager(args)
    infos = _account_secrets(manager, args.account, retries)
    if args.secret_id:
        chosen = account_secrets.canonical(infos)
        infos = [info for info in infos if info.key_id == args.secret_id]
        if not infos:
            raise ConfigError("--secret-id", "%s is not a root secret of account %s"
                              % (args.secret_id, args.account))
        if chosen.key_id == args.secret_id and not getattr(args, "force", False):
            raise ConfigError("--secret-id", "%s is the secret account %s writes with now: "
                              "shredding it destroys every object written since; add "
                              "--force to really do it" % (args.secret_id, args.account))
    if not infos:
        out.write("account %s: no root secret in %s\n" % (args.account, manager.description))
        return EXIT_WRONG
    if not args.yes:
        for info in infos:
            out.write("would delete %s (created %s)\n" % (info.key_id, info.created))
        out.write("nothing deleted: add --yes to destroy these secrets and every object "
                  "of %s written with them\n" % args.account)
        return EXIT_USAGE
    failed = 0
    for info in infos:
        try:
            keymanager.call_with_retries(lambda i=info: manager.delete_secret(i.key_id),
                                         retries=retries)
        except keymanager.SecretNotFound:
            pass  # deleted meanwhile: the outcome wanted
        except keymanager.KeyManagerError as err:
            out.write("NOT deleted %s: %s\n" % (info.key_id, err))
            failed += 1
            continue
        out.write("deleted %s\n" % info.key_id)
    out.write("account %s: %d of %d secret(s) deleted from %s; proxies stop using cached "
              "copies within their cache_ttl\n" % (
                  args.account, len(infos) - failed, len(infos), manager.description))
    return EXIT_WRONG if failed else 0


def do_usage(args, out):
    """``keys usage``: per secret id, what still depends on it (doc/rekey.md,
    "Which secrets are still in use")."""
    import json

    from swiftcrypt.cli import accountselect
    from swiftcrypt.cli.rekey import load_pipeline
    from swiftcrypt.rekey import usage

    try:
        accountselect.check_share(args)
        if args.json:
            accountselect.check_json(args.json)
        app = load_pipeline(args.config)
        accounts = accountselect.select_accounts(args, app)
    except accountselect.Refused as err:
        sys.stderr.write("swiftcrypt keys usage: %s\n" % err)
        return EXIT_USAGE
    found = usage.Usage(usage.configured_secret_ids(app))
    mine = accountselect.share(args.processes, args.process)
    for account in accounts:
        usage.scan_account(app, account, found, mine)
    for problem in found.problems:
        sys.stderr.write("error: %s\n" % problem)
    for line in usage.lines(found):
        out.write(line + "\n")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(found.to_json(), fh, indent=1, sort_keys=True)
    return EXIT_WRONG if found.problems else 0


ACTIONS = {"store": do_store, "create": do_create, "check": do_check,
           "account": do_account, "rotate": do_rotate, "shred": do_shred, "usage": do_usage}


def run(args, out=None, err=None):
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        return ACTIONS[args.keys_command](args, out)
    except ConfigError as error:
        err.write("swiftcrypt keys %s: %s\n" % (args.keys_command, error))
        return EXIT_USAGE
    except keymanager.KeyManagerError as error:
        err.write("swiftcrypt keys %s: %s\n" % (args.keys_command, error))
        return EXIT_WRONG
    except KeyboardInterrupt:  # pragma: no cover
        return exitcodes.INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    from swiftcrypt.cli import main
    sys.exit(main(["keys"] + sys.argv[1:]))
