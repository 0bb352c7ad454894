"""Deprecated import path of the ``encryption`` filter, kept for configs that
name ``swiftcrypt.encryption:filter_factory``. Use ``egg:swiftcrypt#encryption``
(or ``swiftcrypt.middleware.encryption:filter_factory``).
"""

from swiftcrypt._deprecated import moved

filter_factory = moved(__name__, "swiftcrypt.middleware.encryption",
                       "egg:swiftcrypt#encryption").filter_factory
