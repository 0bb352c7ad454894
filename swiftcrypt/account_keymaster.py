"""Deprecated import path of the ``account_keymaster`` filter, kept for configs that
name ``swiftcrypt.account_keymaster:filter_factory``. Use ``egg:swiftcrypt#account_keymaster``
(or ``swiftcrypt.keymasters.account_keymaster:filter_factory``).
"""

from swiftcrypt._deprecated import moved

filter_factory = moved(__name__, "swiftcrypt.keymasters.account_keymaster",
                       "egg:swiftcrypt#account_keymaster").filter_factory
