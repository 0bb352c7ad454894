"""cors: the decrypted names a browser is allowed to read."""

from swiftcrypt.middleware.cors import expose_metadata_headers, expose_object_headers


def test_object_names_join_the_proxys_list():
    headers = [("Etag", "x"), ("Access-Control-Expose-Headers", "etag, x-timestamp")]
    assert expose_object_headers(headers, ["x-object-meta-a", "x-object-meta-b"]) == [
        ("Etag", "x"),
        ("Access-Control-Expose-Headers", "etag, x-timestamp, x-object-meta-a, x-object-meta-b")]


def test_object_names_get_a_header_of_their_own_when_the_proxy_set_none():
    assert expose_object_headers([("Etag", "x")], ["x-object-meta-a"]) == [
        ("Etag", "x"), ("Access-Control-Expose-Headers", "etag, x-object-meta-a")]


def test_an_empty_expose_header_is_filled_not_prefixed_with_a_comma():
    assert expose_object_headers([("access-control-expose-headers", "")], ["x-object-meta-a"]) \
        == [("access-control-expose-headers", "x-object-meta-a")]
    names = ["x-container-meta-a"]
    assert expose_metadata_headers([("Access-Control-Expose-Headers", "")], names) \
        == [("Access-Control-Expose-Headers", "x-container-meta-a")]


def test_metadata_names_are_added_only_where_the_proxy_allowed_cors():
    names = ["x-container-meta-a"]
    assert expose_metadata_headers([("X-Container-Meta-A", "v")], names) == [
        ("X-Container-Meta-A", "v")]
    assert expose_metadata_headers([("Access-Control-Expose-Headers", "x-trans-id")], names) == [
        ("Access-Control-Expose-Headers", "x-trans-id, x-container-meta-a")]
