"""CSV list uploads: `/media/upload` and `/rest/dmpSegments/{id}/listUploads`."""

from __future__ import annotations

import pytest
from sandbox_helpers import assert_error, sha256


def upload(api, csv_text: str, part: str = "fileupload", media_type: str = "ad_segments"):
    files = {part: ("list.csv", csv_text.encode(), "text/csv")}
    return api.post(f"/media/upload?media_type={media_type}", files=files,
                    headers={"LinkedIn-Version": None, "X-Restli-Protocol-Version": None})


def attach(api, segment_id: int, urn: str):
    return api.post(f"/rest/dmpSegments/{segment_id}/listUploads", json={"inputFile": urn})


def company_csv(names: list[str]) -> str:
    lines = ["companyname,companywebsite,companycountry,industry"]
    lines += [f"{name},{name.lower()}.example,US,Retail" for name in names]
    return "\n".join(lines) + "\n"


def test_company_list_upload_loads_members(api, sandbox):
    segment_id = api.create_segment(type_="COMPANY_LIST_UPLOAD")
    response = upload(api, company_csv(["Acme", "Globex", "Initech"]))

    assert response.status_code == 201
    urn = response.json()["location"]
    assert urn.startswith("urn:li:digitalmediaAsset:")

    attached = attach(api, segment_id, urn)
    sandbox.advance_clock(2)

    assert attached.status_code == 201
    members = api.control("GET", f"segments/{segment_id}/members").json()
    assert members["type"] == "COMPANY"
    assert members["members"][0] == {"companyName": "Acme", "companyWebsiteDomain": "acme.example",
                                     "country": "US", "industries": ["Retail"]}
    body = api.segment(segment_id)
    assert body["inputCount"] == 3
    assert body["destinations"][0]["status"] == "READY"


def test_second_upload_replaces_members(api):
    segment_id = api.create_segment(type_="COMPANY_LIST_UPLOAD")
    attach(api, segment_id, upload(api, company_csv(["Acme", "Globex"])).json()["location"])

    attach(api, segment_id, upload(api, company_csv(["Initech"])).json()["location"])

    members = api.control("GET", f"segments/{segment_id}/members").json()["members"]
    assert [m["companyName"] for m in members] == ["Initech"]


def test_user_list_with_hashed_emails_and_aliases(api):
    segment_id = api.create_segment(type_="USER_LIST_UPLOAD")
    text = f"E-mail,First Name,Last Name,Job Title,Country\n{sha256('a@example.com')},Ada,Lovelace,Engineer,GB\n"

    urn = upload(api, text).json()["location"]

    assert attach(api, segment_id, urn).status_code == 201
    [member] = api.control("GET", f"segments/{segment_id}/members").json()["members"]
    assert member == {"userIds": [{"idType": "SHA256_EMAIL", "idValue": sha256("a@example.com")}],
                      "firstName": "Ada", "lastName": "Lovelace", "title": "Engineer", "country": "GB"}


def test_plaintext_email_rejected_without_echo(api):
    response = upload(api, "email\nada@example.com\n")

    body = assert_error(response, 400, "INVALID_FILE_VALUE")
    assert "Line 2" in body["message"]
    assert "ada@example.com" not in response.text


def test_unknown_header_rejected(api):
    body = assert_error(upload(api, "companyname,revenue\nAcme,10\n"), 400, "INVALID_FILE_HEADER")

    assert "revenue" in body["message"]


def test_mixed_headers_rejected(api):
    assert_error(upload(api, f"email,companyname\n{sha256('a')},Acme\n"), 400, "INVALID_FILE_HEADER")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "INVALID_FILE"),
        ("companyname,companycountry\nAcme,USA\n", "INVALID_FILE_VALUE"),
        ("companyname,city\n,Austin\n", "INVALID_FILE_VALUE"),
        ("firstname\nAda\n", "INVALID_FILE_VALUE"),
    ],
)
def test_invalid_rows_rejected(api, text, code):
    assert_error(upload(api, text), 400, code)


def test_upload_needs_fileupload_part_and_media_type(api):
    assert_error(upload(api, company_csv(["Acme"]), part="file"), 400)
    assert_error(upload(api, company_csv(["Acme"]), media_type="image"), 400)


def test_upload_needs_token_and_scope(api, sandbox):
    files = {"fileupload": ("list.csv", b"companyname\nAcme\n", "text/csv")}

    missing = api.session.post(f"{api.url}/media/upload?media_type=ad_segments", files=files, timeout=10)
    narrow = sandbox.issue_token(scope="r_ads")["access_token"]
    scoped = api.session.post(f"{api.url}/media/upload?media_type=ad_segments", files=files, timeout=10,
                              headers={"Authorization": f"Bearer {narrow}"})

    assert_error(missing, 401)
    assert_error(scoped, 403, "ACCESS_DENIED")


def test_attach_checks_kind_file_and_segment_type(api):
    company_list = api.create_segment(type_="COMPANY_LIST_UPLOAD")
    user_list = api.create_segment(type_="USER_LIST_UPLOAD")
    streaming = api.create_segment(type_="COMPANY")
    urn = upload(api, company_csv(["Acme"])).json()["location"]

    assert_error(attach(api, user_list, urn), 400)
    assert_error(attach(api, company_list, "urn:li:digitalmediaAsset:unknown"), 400)
    assert_error(attach(api, streaming, urn), 400, "INVALID_SEGMENT_TYPE")
    assert_error(api.post(f"/rest/dmpSegments/{company_list}/listUploads", json={}), 400)


def test_upload_is_logged_as_summary_only(api):
    upload(api, company_csv(["Acme", "Globex"]))

    [entry] = api.control("GET", "requests").json()["requests"]

    assert entry["path"] == "/media/upload"
    assert entry["body"] == {"fileupload": {"filename": "list.csv", "bytes": len(company_csv(["Acme", "Globex"])),
                                            "kind": "COMPANY", "rows": 2}}


def test_rejected_upload_is_not_logged_verbatim(api):
    upload(api, "email\nada@example.com\n")

    log = api.control("GET", "requests").text

    assert "ada@example.com" not in log
