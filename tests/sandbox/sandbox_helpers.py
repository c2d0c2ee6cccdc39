"""Helpers for the sandbox contract tests: an API session with LinkedIn's headers, and body checks."""

from __future__ import annotations

import hashlib
from typing import Any

import requests

from target_linkedin_audiences.sandbox import SandboxServer

VERSION = "202608"
MANAGED_ACCOUNT = "urn:li:sponsoredAccount:510000001"
CAMPAIGN_ACCOUNT = "urn:li:sponsoredAccount:510000002"
VIEWER_ACCOUNT = "urn:li:sponsoredAccount:510000003"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def user(email: str, action: str = "ADD", **fields: Any) -> dict[str, Any]:
    return {"action": action, "userIds": [{"idType": "SHA256_EMAIL", "idValue": sha256(email)}], **fields}


class Api:
    """A requests session that sends a bearer token and LinkedIn's versioned-API headers."""

    def __init__(self, server: SandboxServer, access_token: str | None) -> None:
        self.server = server
        self.url = server.url
        self.session = requests.Session()
        self.access_token = access_token

    def headers(self, restli_method: str | None = None, **overrides: str | None) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self.access_token}",
            "LinkedIn-Version": VERSION,
            "X-Restli-Protocol-Version": "2.0.0",
        }
        if restli_method:
            headers["X-RestLi-Method"] = restli_method
        for name, value in overrides.items():
            name = name.replace("_", "-")
            if value is None:
                headers.pop(name, None)
            else:
                headers[name] = value
        return headers

    def request(self, method: str, path: str, restli_method: str | None = None,
                headers: dict[str, str | None] | None = None, **kwargs: Any) -> requests.Response:
        merged = self.headers(restli_method)
        for name, value in (headers or {}).items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = value
        return self.session.request(method, self.url + path, headers=merged, timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def create_segment(self, name: str = "Newsletter", account: str = MANAGED_ACCOUNT, type_: str = "USER",
                       **fields: Any) -> int:
        platform = "LIST_UPLOAD" if type_.endswith("LIST_UPLOAD") else "SANDBOX"
        body = {"name": name, "account": account, "type": type_, "sourcePlatform": platform,
                "destinations": [{"destination": "LINKEDIN"}], **fields}
        response = self.post("/rest/dmpSegments", json=body)
        assert response.status_code == 201, response.text
        return int(response.headers["x-restli-id"])

    def stream(self, segment_id: int, elements: list[dict], kind: str = "users") -> requests.Response:
        return self.post(f"/rest/dmpSegments/{segment_id}/{kind}", restli_method="BATCH_CREATE",
                         json={"elements": elements})

    def segment(self, segment_id: int) -> dict[str, Any]:
        response = self.get(f"/rest/dmpSegments/{segment_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def control(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, f"{self.url}/_sandbox/{path}", timeout=30, **kwargs)


def assert_error(response: requests.Response, status: int, code: str | None = None,
                 service_error_code: int | None = None) -> dict[str, Any]:
    """Check LinkedIn's error body `{"status", "serviceErrorCode", "code", "message"}`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"status", "serviceErrorCode", "code", "message"}
    assert body["status"] == status
    assert isinstance(body["serviceErrorCode"], int)
    assert isinstance(body["message"], str) and body["message"]
    if code is not None:
        assert body["code"] == code
    if service_error_code is not None:
        assert body["serviceErrorCode"] == service_error_code
    return body
