"""Deprecated import path of the ``kms_keymaster`` filter, kept for configs that
name ``swiftcrypt.kms_keymaster:filter_factory``. Use ``egg:swiftcrypt#kms_keymaster``
(or ``swiftcrypt.keymasters.kms_keymaster:filter_factory``).
"""

from swiftcrypt._deprecated import moved

filter_factory = moved(__name__, "swiftcrypt.keymasters.kms_keymaster",
                       "egg:swiftcrypt#kms_keymaster").filter_factory
