"""Audit log lines for key lifecycle events and key refusals.

One line per event, always of the form

    swiftcrypt audit: event=<event> account=<account> secret_id=<id> key_id=<path> ...

Events: ``created``, ``rotated`` (an account's canonical secret changed),
``shredded`` (the key service says a secret, or every secret of an
account, no longer exists), ``first_use`` (this process fetched a secret
for the first time), ``refused`` (a request answered with an error for a
key reason, with ``status`` and ``reason``). Fields are ids and paths:
never key material. Refusals are warnings, the rest info.
"""

def _text(value):
    text = "-" if value is None else str(value)
    return "".join("_" if ch.isspace() else ch for ch in text) or "-"


def audit(logger, event, account=None, secret_id=None, key_id=None, **fields):
    """Log one audit line for ``event`` on ``logger``."""
    parts = ["swiftcrypt audit: event=%s" % event, "account=%s" % _text(account),
             "secret_id=%s" % _text(secret_id), "key_id=%s" % _text(key_id)]
    reason = fields.pop("reason", None)
    parts.extend("%s=%s" % (name, _text(fields[name])) for name in sorted(fields))
    line = " ".join(parts)
    if reason is not None:  # free text, last, one line
        line += " reason=%s" % " ".join(str(reason).split())
    log = logger.warning if event == "refused" else logger.info
    try:
        log("%s", line)
    except Exception:  # a log handler's failure is not the request's
        pass
