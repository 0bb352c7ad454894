"""The store's pure pieces: ranges, conditionals, listings, names, metadata."""

import email.utils

import pytest
from hypothesis import given
from hypothesis import strategies as st
from swift.common import swob

from swiftcrypt.store import conditional, listing, names, ranges
from swiftcrypt.store.headers import (
    HeaderDict, listing_etag_and_bytes, object_post_metadata, object_put_metadata,
    stored_to_wsgi, updated_meta, wsgi_to_stored)

# ranges


@pytest.mark.parametrize("header,length,expected", [
    (None, 10, None),
    ("bytes=0-4", 10, [(0, 4)]),
    ("bytes=5-", 10, [(5, 9)]),
    ("bytes=-3", 10, [(7, 9)]),
    ("bytes=-30", 10, [(0, 9)]),
    ("bytes=8-30", 10, [(8, 9)]),
    ("bytes=0-0,-1", 10, [(0, 0), (9, 9)]),
    ("bytes=10-", 10, []),
    ("bytes=10-20,30-", 10, []),
    ("bytes=10-20,2-3", 10, [(2, 3)]),
    ("bytes=-0", 10, []),
    ("bytes=5-2", 10, None),          # invalid: ignored
    ("bytes=a-2", 10, None),
    ("bytes=-", 10, None),
    ("items=0-1", 10, None),
    ("bytes", 10, None),
    ("bytes=0-1", 0, []),
    ("bytes=-5", 0, None),            # suffix of an empty object: 200
    (" bytes = 1 - 2 , 4-4 ", 10, [(1, 2), (4, 4)]),
])
def test_parse_range(header, length, expected):
    assert ranges.parse_range(header, length) == expected


def _swob_ranges(header, length):
    """What Swift's swob answers for ``header``: None (200), [] (416), or
    inclusive spans, with swob's 200 for suffix ranges of an empty body."""
    try:
        spans = swob.Range(header).ranges_for_length(length)
    except ValueError:
        return None
    if spans and length == 0:
        return None
    return None if spans is None else [(start, stop - 1) for start, stop in spans]


@pytest.mark.parametrize("header", [
    # 51 satisfiable ranges: swob answers 416 (the store sent the whole object)
    "bytes=" + ",".join("%d-%d" % (i, i) for i in range(51)),
    "bytes=0-9,2-5,3-6,4-7",          # more than 2 overlapping pairs: 416
    "bytes=" + ",".join("%d-%d" % (i, i) for i in range(8, 0, -1)),  # 8 out of order
    "bytes=0-1,",                     # an empty range spec: the header is ignored
    "bytes=0-1,,2-3",
    "bytes=1_0-20",                   # start read as int() reads it
    "bytes=-0,-0",
])
def test_parse_range_matches_swob_on_the_edges(header):
    assert ranges.parse_range(header, 100) == _swob_ranges(header, 100)


_range_item = st.one_of(
    st.tuples(st.integers(0, 120), st.integers(0, 120)).map(lambda p: "%d-%d" % p),
    st.integers(0, 120).map("%d-".__mod__),
    st.integers(0, 120).map("-%d".__mod__),
    st.sampled_from(["", "-", "x-1", "1-x", " 3 - 4 ", "+2-3"]))


@given(st.lists(_range_item, min_size=1, max_size=60), st.integers(0, 100))
def test_parse_range_matches_swob(items, length):
    header = "bytes=" + ",".join(items)
    assert ranges.parse_range(header, length) == _swob_ranges(header, length)


@given(st.binary(min_size=1, max_size=300),
       st.lists(st.tuples(st.integers(0, 400), st.integers(0, 400)), min_size=2, max_size=5))
def test_multipart_body_matches_layout(data, pairs):
    spans = [(min(a, b), max(a, b)) for a, b in pairs]
    header = "bytes=" + ",".join("%d-%d" % s for s in spans)
    wanted = ranges.parse_range(header, len(data))
    if not wanted:
        return
    parts, terminator, total = ranges.multipart_layout(wanted, len(data), "text/x", "B0")
    body = b"".join(ranges.multipart_body(
        parts, terminator, lambda first, last: iter([data[first:last + 1]])))
    assert len(body) == total
    sections = body.split(b"--B0")
    assert sections[0] == b"" and sections[-1] == b"--"
    for (first, last), section in zip(wanted, sections[1:-1]):
        head, _, payload = section.partition(b"\r\n\r\n")
        assert b"Content-Range: bytes %d-%d/%d" % (first, last, len(data)) in head
        assert payload == data[first:last + 1] + b"\r\n"


# conditionals

LM = 1700000000


def _date(ts):
    return email.utils.formatdate(ts, usegmt=True)


@pytest.mark.parametrize("method,headers,expected", [
    ("GET", {}, None),
    ("GET", {"If-Match": '"abc"'}, None),
    ("GET", {"If-Match": 'abc'}, None),
    ("GET", {"If-Match": '"x", "abc"'}, None),
    ("GET", {"If-Match": 'W/"abc"'}, None),
    ("GET", {"If-Match": '"x"'}, 412),
    ("GET", {"If-Match": "*"}, None),
    ("GET", {"If-None-Match": '"abc"'}, 304),
    ("HEAD", {"If-None-Match": '"y", "abc"'}, 304),
    ("PUT", {"If-None-Match": '"abc"'}, 412),
    ("GET", {"If-None-Match": "*"}, 304),
    ("GET", {"If-None-Match": '"x"'}, None),
    ("GET", {"If-Match": '"x"', "If-None-Match": '"abc"'}, 412),
    ("GET", {"If-Modified-Since": _date(LM)}, 304),
    ("GET", {"If-Modified-Since": _date(LM - 1)}, None),
    ("GET", {"If-Modified-Since": "garbage"}, None),
    ("GET", {"If-None-Match": '"x"', "If-Modified-Since": _date(LM)}, None),
    ("GET", {"If-Unmodified-Since": _date(LM - 1)}, 412),
    ("GET", {"If-Unmodified-Since": _date(LM)}, None),
    ("GET", {"If-Match": '"abc"', "If-Unmodified-Since": _date(LM - 1)}, None),
])
def test_evaluate(method, headers, expected):
    assert conditional.evaluate(method, HeaderDict(headers), "abc", LM) == expected


def test_etag_is_at_picks_first_present_name():
    meta = HeaderDict({"X-Object-Sysmeta-Mac": "mac1", "X-Object-Sysmeta-Other": "o"})
    pick = conditional.etag_to_compare
    assert pick(meta, "X-Object-Sysmeta-Mac", "md5") == "mac1"
    assert pick(meta, "x-object-sysmeta-missing, X-Object-Sysmeta-Other,"
                      "X-Object-Sysmeta-Mac", "md5") == "o"
    assert pick(meta, "X-Object-Sysmeta-Missing", "md5") == "md5"
    assert pick(meta, None, "md5") == "md5"


def test_parse_etags_keeps_base64_macs():
    assert conditional.parse_etags('"abc", "q+/w=", *') == {"abc", "q+/w=", "*"}


@pytest.mark.parametrize("value,expected", [
    (None, True),
    ('"abc"', True),
    (' "abc" ', True),
    ('"abd"', False),
    ('W/"abc"', False),                # weak tags never match (strong comparison)
    ('"x", "abc"', True),              # a masking filter's candidate list
    ("abc", True),                     # bare, as Swift sends etags and clients echo them
    ("abd", False),
    (_date(LM), True),
    (_date(LM - 1), False),
    (_date(LM + 1), False),            # only an exact date matches
    ("garbage", False),                # a bare tag that is not ours
    ("not a date", False),
    ("", False),
])
def test_if_range(value, expected):
    assert conditional.if_range_allows(value, "abc", LM) is expected


# listings

NAMES = ["a", "a/b", "a/c/d", "b", "b-c", "c/d", "c/e/f", "d", "é", "é/x"]


def _fetch_over(names):
    ordered = sorted(names, key=lambda n: n.encode("utf-8"))

    def fetch(window, count):
        out = [n for n in ordered if window.contains(n)]
        if window.descending:
            out.reverse()
        return [{"name": n} for n in out[:count]]
    return fetch


def _list(**kw):
    return [str(e) if isinstance(e, listing.Subdir) else e["name"]
            for e in listing.list_entries(_fetch_over(NAMES), **kw)]


@pytest.mark.parametrize("kw,expected", [
    ({}, NAMES),
    ({"prefix": "a/"}, ["a/b", "a/c/d"]),
    ({"delimiter": "/"}, ["a", "a/", "b", "b-c", "c/", "d", "é", "é/"]),
    ({"delimiter": "/", "prefix": "c/"}, ["c/d", "c/e/"]),
    ({"delimiter": "/", "marker": "a/"}, ["b", "b-c", "c/", "d", "é", "é/"]),
    ({"delimiter": "/", "marker": "a/b"}, ["a/", "b", "b-c", "c/", "d", "é", "é/"]),
    ({"marker": "c/d", "end_marker": "é"}, ["c/e/f", "d"]),
    ({"limit": 2, "delimiter": "/"}, ["a", "a/"]),
    ({"limit": 0}, []),
    ({"prefix": "b", "marker": "a"}, ["b", "b-c"]),
    ({"prefix": "b", "end_marker": "b-"}, ["b"]),
    ({"delimiter": "-"}, ["a", "a/b", "a/c/d", "b", "b-", "c/d", "c/e/f", "d", "é", "é/x"]),
])
def test_list_entries(kw, expected):
    assert _list(**kw) == expected


@given(st.lists(st.text(alphabet="ab/-é", min_size=1, max_size=6), unique=True),
       st.text(alphabet="ab/", max_size=2), st.sampled_from(["", "/", "-"]),
       st.text(alphabet="ab/", max_size=3), st.integers(1, 5))
def test_list_entries_matches_naive_model(names, prefix, delimiter, marker, limit):
    ordered = sorted(names, key=lambda n: n.encode("utf-8"))
    model, seen = [], set()
    for name in ordered:
        if not name.startswith(prefix) or (marker and name <= marker):
            continue
        cut = name.find(delimiter, len(prefix)) if delimiter else -1
        if cut >= 0:
            sub = name[:cut + len(delimiter)]
            if sub in seen:
                continue
            seen.add(sub)
            if sub == marker:
                continue
            model.append(sub)
        else:
            model.append(name)
    got = [str(e) if isinstance(e, listing.Subdir) else e["name"]
           for e in listing.list_entries(_fetch_over(names), prefix=prefix,
                                         delimiter=delimiter, marker=marker, limit=limit)]
    assert got == model[:limit]


PATH_NAMES = ["d", "d/", "d/a", "d/b/", "d/b/x", "d/b/y/z", "d/b0", "d/c", "d/c/", "d/c/q",
              "d0", "e/", "e/f"]


@pytest.mark.parametrize("kw,expected", [
    ({"reverse": True}, NAMES[::-1]),
    ({"reverse": True, "marker": "c/d"}, ["b-c", "b", "a/c/d", "a/b", "a"]),
    ({"reverse": True, "end_marker": "c/d"}, ["é/x", "é", "d", "c/e/f"]),
    ({"reverse": True, "marker": "d", "end_marker": "a/b"},
     ["c/e/f", "c/d", "b-c", "b", "a/c/d"]),
    ({"reverse": True, "prefix": "a/"}, ["a/c/d", "a/b"]),
    ({"reverse": True, "delimiter": "/"}, ["é/", "é", "d", "c/", "b-c", "b", "a/", "a"]),
    ({"reverse": True, "delimiter": "/", "prefix": "a/"}, ["a/c/", "a/b"]),
    ({"reverse": True, "delimiter": "/", "end_marker": "c/"}, ["é/", "é", "d"]),
    ({"reverse": True, "delimiter": "/", "marker": "c/e"}, ["c/", "b-c", "b", "a/", "a"]),
    ({"reverse": True, "limit": 3, "delimiter": "/"}, ["é/", "é", "d"]),
    ({"path": "a"}, ["a/b"]),
    ({"path": "a/"}, ["a/b"]),
    ({"path": "a//"}, ["a/b"]),
    ({"path": ""}, ["a", "b", "b-c", "d", "é"]),
    ({"path": "c", "prefix": "zzz", "delimiter": "-"}, ["c/d"]),  # path wins
    ({"path": "a", "reverse": True}, ["a/b"]),
])
def test_list_entries_reverse_and_path(kw, expected):
    assert _list(**kw) == expected


@pytest.mark.parametrize("kw,expected", [
    ({"path": "d"}, ["d/a", "d/b/", "d/b0", "d/c", "d/c/"]),
    ({"path": "d", "reverse": True}, ["d/c/", "d/c", "d/b0", "d/b/", "d/a"]),
    ({"path": "d", "marker": "d/b/"}, ["d/b0", "d/c", "d/c/"]),
    ({"path": "d", "end_marker": "d/c"}, ["d/a", "d/b/", "d/b0"]),
    ({"path": "d", "reverse": True, "marker": "d/c"}, ["d/b0", "d/b/", "d/a"]),
    ({"path": "d", "limit": 2}, ["d/a", "d/b/"]),
    ({"path": ""}, ["d", "d/", "d0", "e/"]),
    ({"path": "", "reverse": True}, ["e/", "d0", "d/", "d"]),
])
def test_path_listing_lists_one_level(kw, expected):
    got = [e["name"] for e in listing.list_entries(_fetch_over(PATH_NAMES), **kw)]
    assert got == expected


def _names(entries):
    return [str(e) if isinstance(e, listing.Subdir) else e["name"] for e in entries]


_NAME_TEXT = st.text(alphabet="ab/-é", min_size=1, max_size=6)


@given(st.lists(_NAME_TEXT, unique=True), st.text(alphabet="ab/", max_size=2),
       st.sampled_from(["", "/", "-"]), st.text(alphabet="ab/", max_size=3),
       st.text(alphabet="ab/é", max_size=3), st.integers(1, 6))
def test_reverse_is_the_forward_listing_backwards(names, prefix, delimiter, low, high, limit):
    fetch = _fetch_over(names)
    forward = _names(listing.list_entries(fetch, prefix=prefix, delimiter=delimiter,
                                          marker=low, end_marker=high))
    backward = _names(listing.list_entries(fetch, prefix=prefix, delimiter=delimiter,
                                           marker=high, end_marker=low, reverse=True,
                                           limit=limit))
    assert backward == forward[::-1][:limit]


@given(st.lists(_NAME_TEXT, unique=True), st.text(alphabet="ab/", max_size=3),
       st.booleans(), st.integers(1, 6))
def test_path_listing_matches_naive_model(names, path, reverse, limit):
    base = listing.path_prefix(path)
    model = sorted((n for n in names if n.startswith(base) and n != base
                    and "/" not in n[len(base):-1]), key=lambda n: n.encode("utf-8"))
    if reverse:
        model.reverse()
    got = _names(listing.list_entries(_fetch_over(names), path=path, reverse=reverse,
                                      limit=limit))
    assert got == model[:limit]


@pytest.mark.parametrize("value,expected", [
    ("true", True), ("TRUE", True), ("1", True), ("yes", True), ("on", True), ("t", True),
    ("y", True), ("false", False), ("", False), (None, False), ("2", False)])
def test_true_value(value, expected):
    assert listing.true_value(value) is expected


def test_successor():
    assert listing.successor("ab") == "ac"
    assert listing.successor("a/") == "a0"
    assert listing.successor("") is None
    assert listing.successor("a\U0010ffff") == "b"
    assert listing.successor("\ud7ff") == "\ue000"


def test_render_formats():
    entries = [{"name": "a<&"}, listing.Subdir("d/")]

    def entry(row):
        return {"name": row["name"], "bytes": 1}
    assert listing.render("json", "container", "c", entries, entry) == \
        b'[{"name": "a<&", "bytes": 1}, {"subdir": "d/"}]'
    assert listing.render("plain", "container", "c", entries, entry) == b"a<&\nd/\n"
    xml = listing.render("xml", "container", "c&", entries, entry)
    assert b'<container name="c&amp;"><object><name>a&lt;&amp;</name><bytes>1</bytes>' in xml
    assert b'<subdir name="d/"><name>d/</name></subdir>' in xml


@pytest.mark.parametrize("fmt,accept,expected", [
    ("json", None, "json"), ("", "application/json", "json"), ("", "text/xml", "xml"),
    ("", None, "plain"), ("PLAIN", "application/json", "plain"), ("csv", None, None),
])
def test_choose_format(fmt, accept, expected):
    assert listing.choose_format(fmt, accept) == expected


def test_iso_time():
    assert listing.iso_time(1700000000.5) == "2023-11-14T22:13:20.500000"


# names


def test_parse_path():
    assert names.parse_path("/v1/a/c/o/p") == ("a", "c", "o/p")
    assert names.parse_path("/v1/a") == ("a", None, None)
    assert names.parse_path("/v1/a/c/") == ("a", "c", None)
    assert names.parse_path("/v1/a/c/\xc3\xa9") == ("a", "c", "é")


@pytest.mark.parametrize("path,status,words", [
    ("/v1/a/c/\xff", 412, "UTF-8"),
    ("/v1/a/c/x\x00", 412, "NUL"),
    ("/v1/a/" + "c" * 257, 400, "256"),
    ("/v1/a/c/" + "o" * 1025, 400, "1024"),
    ("/v1/a/c/" + "\xc3\xa9" * 513, 400, "1024"),
    ("/v2/a", 400, "version"),
    ("/", 400, "/v1/"),
])
def test_parse_path_rejects(path, status, words):
    with pytest.raises(names.BadName) as err:
        names.parse_path(path)
    assert err.value.status == status and words in err.value.reason


# metadata


def test_put_metadata_footers_override_and_filtering():
    headers = HeaderDict({"Content-Type": "text/a", "X-Object-Meta-A": "1",
                          "X-Object-Sysmeta-S": "req", "Etag": "e", "X-Auth-Token": "t",
                          "Content-Disposition": "inline"})
    footers = HeaderDict({"x-object-sysmeta-s": "footer", "Etag": "f"})
    meta = object_put_metadata(headers, footers, "cat.jpg")
    assert dict(meta) == {"Content-Type": "text/a", "X-Object-Meta-A": "1",
                          "X-Object-Sysmeta-S": "footer", "Content-Disposition": "inline"}


@pytest.mark.parametrize("name, headers, expected", [
    ("cat.jpg", {}, "image/jpeg"),                        # no Content-Type: from the name
    ("dir/notes.txt", {"Content-Type": ""}, "text/plain"),  # an empty one is none
    ("README", {}, "application/octet-stream"),           # no extension
    ("cat.jpg", {"Content-Type": "text/x-mine"}, "text/x-mine"),  # the client's wins
    ("cat.jpg", {"Content-Type": "text/x-mine", "X-Detect-Content-Type": "true"},
     "image/jpeg"),                                       # unless asked to detect
    ("cat.jpg", {"Content-Type": "text/x-mine", "X-Detect-Content-Type": "false"},
     "text/x-mine"),
])
def test_put_metadata_content_type_as_swifts_proxy(name, headers, expected):
    meta = object_put_metadata(HeaderDict(headers), HeaderDict(), name)
    assert meta["Content-Type"] == expected
    assert "X-Detect-Content-Type" not in meta


def test_post_metadata_rules():
    old = HeaderDict({"Content-Type": "text/a", "X-Object-Meta-A": "1",
                      "X-Object-Sysmeta-S": "s", "X-Object-Transient-Sysmeta-T": "t"})
    new = object_post_metadata(old, HeaderDict({"X-Object-Meta-B": "2",
                                                "X-Object-Sysmeta-S": "forged"}))
    assert dict(new) == {"Content-Type": "text/a", "X-Object-Sysmeta-S": "s",
                         "X-Object-Meta-B": "2"}
    assert object_post_metadata(old, HeaderDict({"Content-Type": "text/b"}))[
        "content-type"] == "text/b"


def test_container_meta_updates():
    meta = updated_meta("container", HeaderDict({"X-Container-Meta-A": "1"}), HeaderDict({
        "X-Container-Meta-B": "2", "X-Container-Read": ".r:*", "X-Account-Meta-C": "no"}))
    assert dict(meta) == {"X-Container-Meta-A": "1", "X-Container-Meta-B": "2",
                          "X-Container-Read": ".r:*"}
    meta = updated_meta("container", meta, HeaderDict({
        "X-Remove-Container-Meta-A": "x", "X-Container-Meta-B": ""}))
    assert dict(meta) == {"X-Container-Read": ".r:*"}


def test_listing_etag_override():
    meta = HeaderDict({"X-Object-Sysmeta-Container-Update-Override-Etag":
                       "b64data; swift_meta=%7B%7D; swift_bytes=42"})
    assert listing_etag_and_bytes(meta, "md5", 7) == ("b64data; swift_meta=%7B%7D", 42)
    assert listing_etag_and_bytes(HeaderDict(), "md5", 7) == ("md5", 7)


def test_header_dict_views_reverse_like_a_dicts():
    headers = HeaderDict([("B", "1"), ("a", "2")])
    headers["A"] = "3"  # keeps its place and first casing
    assert list(reversed(headers.items())) == [("a", "3"), ("B", "1")]
    assert list(reversed(headers.keys())) == list(reversed(headers)) == ["a", "B"]
    assert list(reversed(headers.values())) == ["3", "1"]
    assert list(headers.items()) == [("B", "1"), ("a", "3")]


@given(st.binary(max_size=50))
def test_stored_text_round_trips_bytes(raw):
    wsgi = raw.decode("latin-1")
    stored = wsgi_to_stored(wsgi)
    assert stored_to_wsgi(stored) == wsgi
    assert stored.encode("utf-8", "surrogateescape") == raw


def test_temp_files_of_live_writers_are_kept():
    import os
    import subprocess
    import sys

    from swiftcrypt.store.diskfile import writer_is_gone

    assert not writer_is_gone("obj-%d-abc.tmp" % os.getpid())  # this process
    assert not writer_is_gone("obj-1-abc.tmp")  # init: alive, maybe not ours
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    assert writer_is_gone("obj-%s-abc.tmp" % done.stdout.strip())  # exited
    # an older store's names carry no pid: gone only once old
    assert writer_is_gone("obj-abc.tmp", now=10000.0, mtime=0.0)
    assert not writer_is_gone("obj-abc.tmp", now=100.0, mtime=0.0)
