"""Exceptions shared by the crypto core, the keymasters and the filters.

When Swift is importable our key errors also derive from Swift's own
exception classes, so that Swift's encryption filter mixed with our keymaster
(or the reverse) recognises them exactly as it recognises its own.
"""


def _swift_base(name):
    try:
        from swift.common import exceptions
    except ImportError:  # swift is optional; a broken install must not pass silently
        return ()
    cls = getattr(exceptions, name, None)
    return (cls,) if isinstance(cls, type) else ()


class CryptoError(*(_swift_base("EncryptionException") or (Exception,))):
    """Stored crypto metadata or a value cannot be decrypted."""


class UnknownSecretIdError(CryptoError, *_swift_base("UnknownSecretIdError")):
    """A key id names a root secret this keymaster does not hold.

    ``args[0]`` is the secret id, as Swift's exception has it.
    """


class DecryptionFailed(Exception):
    """A stored item could not be decrypted; names the header at fault and
    the key id it was stored with (if it got that far), for the log."""

    def __init__(self, header, reason, key_id=None, wrong_key=False):
        self.header = header
        self.reason = reason
        self.key_id = key_id
        self.wrong_key = wrong_key  # a MAC under the key did not match
        super().__init__("%s: %s" % (header, reason))


class ConfigError(Exception):
    """A configuration problem that must stop start-up.

    The message is one line naming the option and what is wrong with it.
    """

    def __init__(self, option, problem):
        self.option = option
        self.problem = problem
        super().__init__("%s: %s" % (option, problem))
