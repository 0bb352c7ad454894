"""Old import paths that an operator may name in a paste config, kept
working (with a DeprecationWarning) since the modules moved into
subpackages."""

import importlib
import logging
import warnings


def moved(old, new, instead):
    """Warn that module ``old`` moved to ``new`` and return ``new``."""
    message = ("%s is deprecated: it moved to %s; name the filter as %s in the "
               "pipeline config" % (old, new, instead))
    warnings.warn(message, DeprecationWarning, stacklevel=3)
    # Python hides DeprecationWarning outside __main__: the proxy's log is
    # where an operator will see it.
    logging.getLogger("swiftcrypt").warning(message)
    return importlib.import_module(new)
