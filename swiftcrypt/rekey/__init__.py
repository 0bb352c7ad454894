"""Re-keying and the key inventory: what ``swiftcrypt rekey`` decides
(``plan``, pure), how it runs through an internal pipeline (``run``), its
checkpoint, progress and account discovery, and ``swiftcrypt keys usage``
(``usage``).
"""
