"""The keymaster filters, which put the keys for each request in the
environ: ``keymaster`` (root secrets in the proxy config), ``kms_keymaster``
(root secrets in Barbican), ``account_keymaster`` (a root secret per
account in Barbican), and what they share (the secret cache, the reload
handover).
"""
