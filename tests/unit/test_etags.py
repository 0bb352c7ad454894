"""swiftcrypt.common.etags: the one etag unquoting, with the cases each of
the five former copies handled (the encrypter's, the store's PUT check,
If-None-Match, If-Match/If-Range, rekey's and verify_body's)."""

import pytest

from swiftcrypt.common import etags
from swiftcrypt.store import conditional, creation


@pytest.mark.parametrize("value, expected", [
    ('"abc"', "abc"),            # a client's quoted etag (store PUT, encrypter)
    ("abc", "abc"),              # Swift's bare etag
    ('  "abc"  ', "abc"),        # whitespace around (rekey's strip().strip('"'))
    ('"ABC"', "ABC"),            # case kept: the store lower-cases itself
    ('"*"', "*"),                # If-None-Match: "*" (creation)
    ('""', ""),
    ('"', '"'),                  # one quote is not a pair
    ('"abc', '"abc'),            # nor is an unmatched one
    ('""abc""', '"abc"'),        # one pair only
    ('W/"abc"', 'W/"abc"'),      # a weak marker is kept: see bare
    ("q+/w=", "q+/w="),          # a base64 MAC
])
def test_unquote(value, expected):
    assert etags.unquote(value) == expected


@pytest.mark.parametrize("value, expected", [
    ('W/"abc"', "abc"),          # the encrypter's strip_etag dropped the marker
    (' W/"abc" ', "abc"),
    ('"abc"', "abc"),
    ("abc", "abc"),
    ("W/abc", "abc"),
])
def test_bare(value, expected):
    assert etags.bare(value) == expected


def test_is_weak():
    assert etags.is_weak('W/"abc"') and etags.is_weak(' W/"abc"')
    assert not etags.is_weak('"abc"') and not etags.is_weak("abc")


def test_parse_list_keeps_order_star_and_empty_quotes_drops_blanks():
    assert etags.parse_list('"a", W/"b",c ,*') == ["a", "b", "c", "*"]
    assert etags.parse_list("a, ,b,") == ["a", "b"]
    assert etags.parse_list('""') == [""]


def test_conditional_parse_etags_drops_empty_tags():
    # If-Match/If-None-Match compare as a set; "" matches nothing
    assert conditional.parse_etags('"abc", W/"def", "", *') == {"abc", "def", "*"}


@pytest.mark.parametrize("value, allowed", [
    ('"abc"', True), ("abc", True), (' "x", "abc" ', True),
    ('W/"abc"', False), ('"abd"', False),
])
def test_if_range_matches_strong_tags_quoted_or_bare(value, allowed):
    assert conditional.if_range_allows(value, "abc", 0) is allowed


@pytest.mark.parametrize("value, star", [("*", True), ('"*"', True), (' "*" , "a"', True)])
def test_if_none_match_star_quoted_or_bare(value, star):
    assert creation.if_none_match_star({"If-None-Match": value}) is star


def test_if_none_match_with_an_etag_is_refused():
    with pytest.raises(creation.Refused) as exc:
        creation.if_none_match_star({"If-None-Match": '"abc"'})
    assert exc.value.status == 400
