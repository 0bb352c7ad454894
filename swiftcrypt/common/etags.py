"""Entity tags as headers carry them: quoted or bare, strong or weak, in lists.

Swift sends etags bare, clients often quote them; every place that compares
one unquotes it here, so that all agree on what ``"abc"``, ``W/"abc"`` and
``" abc "`` mean.
"""


def unquote(value):
    """``value`` without surrounding whitespace and one pair of surrounding
    double quotes (``'"abc"'`` -> ``'abc'``; ``'abc'``, ``'"abc'`` as they are).
    A weak marker is kept: see ``bare``."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value


def is_weak(value):
    """Whether ``value`` (stripped) is a weak entity tag (``W/"..."``)."""
    return value.strip().startswith("W/")


def bare(value):
    """The opaque tag of ``value``, weak or strong: ``'W/"abc"'`` -> ``'abc'``."""
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return unquote(value)


def parse_list(value):
    """The bare tags of an ``If-Match``-style list, in order, ``*`` kept.

    Blank items (``"a, ,b"``) are dropped; an item that is only quotes
    (``'""'``) gives ``''``.
    """
    return [bare(part) for part in value.split(",") if part.strip()]
