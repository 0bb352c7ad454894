"""Key managers: where root secrets are kept when they are not in a config
file. ``base`` defines the small interface and its errors; ``barbican``
implements it with python-barbicanclient. Filters and the ``keys`` command
use only the interface, so another backend can be added without touching
them.
"""

from swiftcrypt.keymanager.base import (  # noqa: F401
    AccessDenied,
    AuthenticationFailed,
    BadSecret,
    KeyManager,
    KeyManagerError,
    Secret,
    SecretInfo,
    SecretNotFound,
    ServerError,
    Unreachable,
    call_with_retries,
)
