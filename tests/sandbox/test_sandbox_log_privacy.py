"""The request log keeps no email-shaped string, whatever the shape of the body that carried it."""

from __future__ import annotations

import pytest

from tests.sandbox.sandbox_helpers import Api

EMAIL = "ana.lopez@example.com"


@pytest.mark.parametrize(
    "body",
    [
        {"elements": {"first": {"userIds": [{"idType": "SHA256_EMAIL", "idValue": EMAIL}]}}},
        [{"action": "ADD", "userIds": [{"idType": "SHA256_EMAIL", "idValue": EMAIL}]}],
        {"elements": [{"action": "ADD", "companyName": "Acme", "companyEmailDomain": EMAIL}]},
        {"elements": [{"action": "ADD", "userIds": [{"idType": "GOOGLE_AID", "idValue": "x"}], "title": f"see {EMAIL}"}]},
    ],
    ids=["elements-object", "top-level-array", "email-as-domain", "email-in-title"],
)
def test_malformed_bodies_logged_without_emails(api: Api, body):
    segment_id = api.create_segment(type_="COMPANY" if "companyName" in str(body) else "USER")
    kind = "companies" if "companyName" in str(body) else "users"
    api.post(f"/rest/dmpSegments/{segment_id}/{kind}", restli_method="BATCH_CREATE", json=body)

    log = api.control("GET", "requests").text
    assert EMAIL not in log
    assert "[REDACTED]" in log


def test_segment_keys_stay_readable(api: Api):
    api.create_segment(sourceSegmentId="contacts@510000001")
    assert "contacts@510000001" in api.control("GET", "requests").text
