"""Deprecated import path of the ``keymaster`` filter, kept for configs that
name ``swiftcrypt.keymaster:filter_factory``. Use ``egg:swiftcrypt#keymaster``
(or ``swiftcrypt.keymasters.config_keymaster:filter_factory``).
"""

from swiftcrypt._deprecated import moved

filter_factory = moved(__name__, "swiftcrypt.keymasters.config_keymaster",
                       "egg:swiftcrypt#keymaster").filter_factory
