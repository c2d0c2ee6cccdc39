"""Rest.li encoding, account ids and error mapping: one input and one expected result a row."""

from __future__ import annotations

import pytest
import requests

from target_linkedin_audiences import errors
from target_linkedin_audiences.client import account_urn, encode_list, encode_value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("urn:li:sponsoredAccount:123", "urn%3Ali%3AsponsoredAccount%3A123"),
        ("contacts@123", "contacts%40123"),
        ("a b,c(d)", "a%20b%2Cc%28d%29"),
        ("SANDBOX", "SANDBOX"),
        ("é", "%C3%A9"),
        (42, "42"),
    ],
)
def test_encode_value(value, expected):
    assert encode_value(value) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["urn:li:sponsoredAccount:1"], "List(urn%3Ali%3AsponsoredAccount%3A1)"),
        (["a", "b,c"], "List(a,b%2Cc)"),
        ([], "List()"),
    ],
)
def test_encode_list(values, expected):
    assert encode_list(values) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (123, "urn:li:sponsoredAccount:123"),
        ("123", "urn:li:sponsoredAccount:123"),
        (" 0123 ", "urn:li:sponsoredAccount:123"),
        ("urn:li:sponsoredAccount:77", "urn:li:sponsoredAccount:77"),
        ("URN:LI:SPONSOREDACCOUNT:77", "urn:li:sponsoredAccount:77"),
    ],
)
def test_account_urn_accepts_forms(value, expected):
    assert account_urn(value) == expected


@pytest.mark.parametrize("value", ["", "abc", "urn:li:organization:5", "12.5", "-3"])
def test_account_urn_rejects_garbage(value):
    with pytest.raises(ValueError, match="ad account id"):
        account_urn(value)


def make_response(status: int, body: dict | str | None, headers: dict | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    if isinstance(body, dict):
        import json

        response._content = json.dumps(body).encode()
    else:
        response._content = (body or "").encode()
    request = requests.Request("POST", "http://127.0.0.1:9/rest/dmpSegments/5/users?x=1").prepare()
    response.request = request
    return response


@pytest.mark.parametrize(
    ("status", "body", "error_class"),
    [
        (400, {"status": 400, "message": "bad"}, errors.BadRequestError),
        (401, {"status": 401, "serviceErrorCode": 65600, "message": "Invalid access token"}, errors.InvalidTokenError),
        (401, {"status": 401, "serviceErrorCode": 65601, "code": "REVOKED_ACCESS_TOKEN"}, errors.TokenRevokedError),
        (401, {"status": 401, "serviceErrorCode": 65602, "code": "EXPIRED_ACCESS_TOKEN"}, errors.TokenExpiredError),
        (401, {"status": 401, "message": "Empty oauth2_access_token"}, errors.AuthenticationError),
        (403, {"status": 403, "message": "Not enough permissions"}, errors.PermissionDeniedError),
        (404, {"status": 404}, errors.NotFoundError),
        (409, {"status": 409}, errors.ConflictError),
        (426, {"status": 426, "code": "NONEXISTENT_VERSION"}, errors.UnsupportedVersionError),
        (429, {"status": 429, "serviceErrorCode": 101}, errors.RateLimitError),
        (429, {"status": 429, "code": "SEGMENT_LIMIT_EXCEEDED"}, errors.SegmentLimitExceededError),
        (500, "not json", errors.ServerError),
        (503, {}, errors.ServerError),
        (418, {}, errors.LinkedInError),
    ],
)
def test_error_from_response_maps_status(status, body, error_class):
    error = errors.error_from_response(make_response(status, body))
    assert type(error) is error_class
    assert error.status == status
    assert error.path == "/rest/dmpSegments/5/users"


def test_retryable_errors_are_marked():
    assert errors.error_from_response(make_response(429, {})).retryable
    assert errors.error_from_response(make_response(502, {})).retryable
    assert not errors.error_from_response(make_response(429, {"code": "SEGMENT_LIMIT_EXCEEDED"})).retryable
    assert not errors.error_from_response(make_response(400, {})).retryable


def test_error_keeps_trace_headers_and_retry_after():
    response = make_response(503, {}, {"x-li-uuid": "abc", "Retry-After": "7"})
    error = errors.error_from_response(response)
    assert error.trace == {"x-li-uuid": "abc"}
    assert error.retry_after == 7.0
    assert "x-li-uuid=abc" in str(error)


def test_error_message_masks_emails():
    error = errors.error_from_response(make_response(400, {"message": "bad value ana@example.com in element 3"}))
    assert "ana@example.com" not in str(error)
    assert "[email]" in str(error)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), ("0.5", 0.5), ("-2", 0.0), ("", None), (None, None), ("Wed, 21 Oct 2026 07:28:00 GMT", None)],
)
def test_parse_retry_after(header, expected):
    assert errors.parse_retry_after(header) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("user a.b+c@example.co.uk failed", "user [email] failed"),
        ("no emails here", "no emails here"),
        ("x" * 400, "x" * 300 + "..."),
    ],
)
def test_scrub_text(text, expected):
    assert errors.scrub_text(text) == expected
