"""The account_keymaster's answers for key errors the encryption filter
alone would answer 500: a shredded secret 410, the key manager unreachable
503, a write without a secret when creation is off 403. Each refusal is
logged, counted and audited."""

from swiftcrypt.common.audit import audit
from swiftcrypt.common.httperrors import respond
from swiftcrypt.keymasters.account_secrets import (
    KeyManagerUnavailable,
    NoAccountSecret,
    SecretGone,
)

#: metric and audit names of the refusals
_REFUSAL_REASONS = {
    SecretGone: "shredded",
    KeyManagerUnavailable: "key_service_unavailable",
    NoAccountSecret: "no_account_secret",
}


def replaces(resp, err):
    """True when the app's response ``resp`` stands for the key error
    ``err`` of the request: the decrypter answered 500 (or listed
    "<unknown>" etags) for what is in fact a shred or an outage."""
    return err is not None and (resp.status_int >= 500 or isinstance(err, KeyManagerUnavailable))


def refuse(logger, metrics_, environ, start_response, err):
    """Answer the request's AccountKeyError ``err`` with its own status and
    public text; logged, counted and audited."""
    log = logger.warning if err.status in (403, 410) else logger.error
    log("%s %s: %s (answered %d)", environ.get("REQUEST_METHOD"),
        environ.get("PATH_INFO"), err, err.status)
    reason = _REFUSAL_REASONS.get(type(err), "key_error")
    metrics_.increment("failures." + reason)
    audit(logger, "refused", err.account, secret_id=err.secret_id,
          key_id=environ.get("PATH_INFO"), status=err.status,
          method=environ.get("REQUEST_METHOD"), why=reason, reason=err.reason)
    return respond(start_response, err.status, err.public)
