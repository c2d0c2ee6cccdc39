"""OAuth: consent page, code exchange, refresh and introspection, with LinkedIn's errors."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from target_linkedin_audiences.sandbox import CLIENT_ID, CLIENT_SECRET

REDIRECT_URI = "http://127.0.0.1:8799/callback"
SCOPE = "r_ads rw_dmp_segments r_basicprofile"


def authorize_params(**overrides: str) -> dict[str, str]:
    params = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI,
              "scope": SCOPE, "state": "xyz-123"}
    params.update(overrides)
    return params


def consent(url: str, decision: str = "allow", **overrides: str) -> requests.Response:
    """Submit the consent page's form as the browser would."""
    form = {**authorize_params(**overrides), "decision": decision}
    return requests.post(f"{url}/oauth/v2/authorization", data=form, allow_redirects=False, timeout=10)


def get_code(url: str, **overrides: str) -> str:
    response = consent(url, **overrides)
    assert response.status_code == 302
    return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]


def token_request(url: str, **form: str) -> requests.Response:
    return requests.post(f"{url}/oauth/v2/accessToken", data=form, timeout=10)


def exchange(url: str, code: str, **overrides: str) -> requests.Response:
    form = {"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "redirect_uri": REDIRECT_URI}
    form.update(overrides)
    return token_request(url, **form)


def refresh(url: str, refresh_token: str, **overrides: str) -> requests.Response:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET}
    form.update(overrides)
    return token_request(url, **form)


def introspect(url: str, token: str, **overrides: str) -> requests.Response:
    form = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "token": token}
    form.update(overrides)
    return requests.post(f"{url}/oauth/v2/introspectToken", data=form, timeout=10)


def assert_oauth_error(response: requests.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error


def test_consent_page_lists_app_and_scopes(sandbox):
    response = requests.get(f"{sandbox.url}/oauth/v2/authorization", params=authorize_params(), timeout=10)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Sandbox Audiences App" in response.text
    for scope in SCOPE.split():
        assert f'data-scope="{scope}"' in response.text
    assert 'value="allow"' in response.text
    assert 'value="cancel"' in response.text


@pytest.mark.parametrize(
    ("overrides", "status", "error"),
    [
        ({"client_id": "someone-else"}, 401, "invalid_client_id"),
        ({"redirect_uri": "https://example.com/callback"}, 401, "invalid_redirect_uri"),
        ({"redirect_uri": "http://127.0.0.1:8799/cb#frag"}, 401, "invalid_redirect_uri"),
        ({"scope": "r_ads w_member_social"}, 401, "unauthorized_scope_error"),
        ({"response_type": "token"}, 400, "unsupported_response_type"),
        ({"scope": ""}, 400, "invalid_request"),
    ],
)
def test_consent_page_rejects_bad_request(sandbox, overrides, status, error):
    response = requests.get(f"{sandbox.url}/oauth/v2/authorization", params=authorize_params(**overrides), timeout=10)

    assert response.status_code == status
    assert f'<p id="error">{error}</p>' in response.text


def test_allow_redirects_with_code_and_state(sandbox):
    response = consent(sandbox.url, redirect_uri="http://localhost:9000/cb?keep=1")

    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("http", "localhost:9000", "/cb")
    query = parse_qs(location.query)
    assert query["keep"] == ["1"]
    assert query["state"] == ["xyz-123"]
    assert len(query["code"][0]) > 20


def test_cancel_redirects_with_error(sandbox):
    response = consent(sandbox.url, decision="cancel")

    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["error"] == ["user_cancelled_authorize"]
    assert query["state"] == ["xyz-123"]
    assert "code" not in query


def test_code_exchange_returns_linkedin_lifetimes(sandbox):
    response = exchange(sandbox.url, get_code(sandbox.url))

    assert response.status_code == 200
    body = response.json()
    assert body["expires_in"] == 5_184_000
    assert body["refresh_token_expires_in"] == 31_536_000
    assert body["scope"] == SCOPE
    assert len(body["access_token"]) >= 400
    assert body["access_token"] != body["refresh_token"]


def test_code_is_single_use(sandbox):
    code = get_code(sandbox.url)
    assert exchange(sandbox.url, code).status_code == 200

    assert_oauth_error(exchange(sandbox.url, code), 401, "invalid_request")


def test_unknown_code_rejected(sandbox):
    assert_oauth_error(exchange(sandbox.url, "not-a-code"), 401, "invalid_request")


def test_code_expires_after_30_minutes(sandbox):
    code = get_code(sandbox.url)
    sandbox.advance_clock(30 * 60 + 1)

    assert_oauth_error(exchange(sandbox.url, code), 400, "invalid_redirect_uri")


def test_code_valid_just_before_expiry(sandbox):
    code = get_code(sandbox.url)
    sandbox.advance_clock(29 * 60)

    assert exchange(sandbox.url, code).status_code == 200


def test_redirect_uri_mismatch_rejected(sandbox):
    code = get_code(sandbox.url)

    assert_oauth_error(exchange(sandbox.url, code, redirect_uri="http://127.0.0.1:8799/other"), 400,
                       "invalid_redirect_uri")


@pytest.mark.parametrize("overrides", [{"client_id": "unknown"}, {"client_secret": "wrong"}])
def test_unknown_client_rejected(sandbox, overrides):
    assert_oauth_error(exchange(sandbox.url, get_code(sandbox.url), **overrides), 401, "invalid_client")


@pytest.mark.parametrize("missing", ["code", "client_id", "client_secret", "redirect_uri", "grant_type"])
def test_missing_parameter_rejected(sandbox, missing):
    form = {"grant_type": "authorization_code", "code": "c", "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "redirect_uri": REDIRECT_URI}
    del form[missing]

    assert_oauth_error(token_request(sandbox.url, **form), 400, "invalid_request")


def test_unsupported_grant_type(sandbox):
    assert_oauth_error(token_request(sandbox.url, grant_type="client_credentials"), 400, "unsupported_grant_type")


def test_token_endpoint_needs_form_body(sandbox):
    response = requests.post(f"{sandbox.url}/oauth/v2/accessToken", json={"grant_type": "refresh_token"}, timeout=10)

    assert_oauth_error(response, 400, "invalid_request")


def test_refresh_keeps_refresh_token_and_its_lifetime(sandbox):
    tokens = exchange(sandbox.url, get_code(sandbox.url)).json()
    sandbox.advance_clock(59 * 86400)

    response = refresh(sandbox.url, tokens["refresh_token"])

    assert response.status_code == 200
    body = response.json()
    assert body["access_token"] != tokens["access_token"]
    assert body["refresh_token"] == tokens["refresh_token"]
    assert body["expires_in"] == 5_184_000
    assert 306 * 86400 - 5 <= body["refresh_token_expires_in"] <= 306 * 86400


def test_refresh_near_end_caps_access_token(sandbox):
    tokens = exchange(sandbox.url, get_code(sandbox.url)).json()
    sandbox.advance_clock(360 * 86400)

    body = refresh(sandbox.url, tokens["refresh_token"]).json()

    assert 5 * 86400 - 5 <= body["expires_in"] <= 5 * 86400
    assert body["expires_in"] == body["refresh_token_expires_in"]


def test_refreshed_access_token_works(sandbox):
    tokens = sandbox.issue_token()
    new_token = refresh(sandbox.url, tokens["refresh_token"]).json()["access_token"]

    response = requests.get(f"{sandbox.url}/v2/me", headers={"Authorization": f"Bearer {new_token}"}, timeout=10)

    assert response.status_code == 200


def test_expired_refresh_token_rejected(sandbox):
    tokens = sandbox.issue_token()
    sandbox.advance_clock(365 * 86400)

    response = refresh(sandbox.url, tokens["refresh_token"])

    assert_oauth_error(response, 400, "invalid_request")
    assert "expired" in response.json()["error_description"]


def test_revoked_refresh_token_rejected(sandbox):
    tokens = sandbox.issue_token()
    requests.post(f"{sandbox.url}/_sandbox/tokens/revoke", json={"token": tokens["refresh_token"]}, timeout=10)

    response = refresh(sandbox.url, tokens["refresh_token"])

    assert_oauth_error(response, 400, "invalid_request")
    assert "revoked" in response.json()["error_description"]


def test_access_token_is_not_a_refresh_token(sandbox):
    tokens = sandbox.issue_token()

    assert_oauth_error(refresh(sandbox.url, tokens["access_token"]), 400, "invalid_request")


def test_refresh_rejects_unknown_client(sandbox):
    tokens = sandbox.issue_token()

    assert_oauth_error(refresh(sandbox.url, tokens["refresh_token"], client_secret="nope"), 401, "invalid_client")


def test_introspect_active_token(sandbox):
    tokens = sandbox.issue_token(scope="r_ads rw_dmp_segments")

    body = introspect(sandbox.url, tokens["access_token"]).json()

    assert body["active"] is True
    assert body["status"] == "active"
    assert body["scope"] == "r_ads,rw_dmp_segments"
    assert body["client_id"] == CLIENT_ID
    assert body["auth_type"] == "3L"
    assert body["expires_at"] - body["created_at"] == 5_184_000
    assert body["authorized_at"] == body["created_at"]


def test_introspect_refresh_token(sandbox):
    tokens = sandbox.issue_token()

    body = introspect(sandbox.url, tokens["refresh_token"]).json()

    assert body["active"] is True
    assert body["expires_at"] - body["created_at"] == 31_536_000


def test_introspect_expired_and_revoked(sandbox):
    expired = sandbox.issue_token(access_ttl=60)
    revoked = sandbox.issue_token()
    requests.post(f"{sandbox.url}/_sandbox/tokens/revoke", json={"token": revoked["access_token"]}, timeout=10)
    sandbox.advance_clock(61)

    expired_body = introspect(sandbox.url, expired["access_token"]).json()
    revoked_body = introspect(sandbox.url, revoked["access_token"]).json()

    assert (expired_body["active"], expired_body["status"]) == (False, "expired")
    assert (revoked_body["active"], revoked_body["status"]) == (False, "revoked")


def test_introspect_errors(sandbox):
    tokens = sandbox.issue_token()

    assert_oauth_error(introspect(sandbox.url, tokens["access_token"], client_id="x"), 400, "invalid_request")
    assert_oauth_error(introspect(sandbox.url, tokens["access_token"], client_secret="x"), 401, "invalid_client")
    assert_oauth_error(introspect(sandbox.url, "unknown-token"), 400, "invalid_request")


def test_lifetimes_follow_settings(tmp_path):
    from target_linkedin_audiences.sandbox import SandboxServer, SandboxSettings

    settings = SandboxSettings(access_token_ttl_seconds=3600, refresh_token_ttl_seconds=7200)
    with SandboxServer(tmp_path / "s.db", settings=settings) as server:
        body = exchange(server.url, get_code(server.url)).json()
        issued = server.issue_token()

    assert (body["expires_in"], body["refresh_token_expires_in"]) == (3600, 7200)
    assert (issued["expires_in"], issued["refresh_token_expires_in"]) == (3600, 7200)
