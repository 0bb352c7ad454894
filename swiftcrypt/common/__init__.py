"""Plumbing shared by every role: errors, option parsing, logging and
metrics, Swift paths and timestamps, the MD5 integrity check, in-process
WSGI calls, and concurrency that works with and without eventlet.
"""
