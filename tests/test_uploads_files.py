"""Turning CSV exports into LinkedIn list-upload files: columns, hashing, skips and bad files."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from pathlib import Path

import pytest

from target_linkedin_audiences import csv_input, list_files
from target_linkedin_audiences.csv_columns import find_columns
from target_linkedin_audiences.list_files import ListFileError, ListFileReport, write_list_file
from target_linkedin_audiences.members import normalize_domain

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def convert(data: bytes | str, kind: str = "USER", **options) -> tuple[ListFileReport, list[dict]]:
    """Run write_list_file on in-memory bytes; return the report and the written rows."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    output = io.BytesIO()
    report = write_list_file(io.BufferedReader(io.BytesIO(data)), output, kind, **options)
    text = output.getvalue().decode("utf-8")
    return report, list(csv.DictReader(io.StringIO(text)))


def convert_error(data: bytes | str, kind: str = "USER", **options) -> str:
    with pytest.raises(ListFileError) as caught:
        convert(data, kind, **options)
    return str(caught.value)


# Columns


@pytest.mark.parametrize(
    ("kind", "header", "field"),
    [
        ("USER", "email", "email"),
        ("USER", "Email", "email"),
        ("USER", "E-mail Address", "email"),
        ("USER", "email_address", "email"),
        ("USER", "Work Email", "email"),
        ("USER", "SHA256 Email", "email"),
        ("USER", "Hashed Email", "email"),
        ("USER", "First Name", "firstName"),
        ("USER", "lastname", "lastName"),
        ("USER", "Job Title", "title"),
        ("USER", "employeecompany", "company"),
        ("USER", "Company", "company"),
        ("USER", "Country", "country"),
        ("USER", "googleaid", "googleAid"),
        ("COMPANY", "companyname", "companyName"),
        ("COMPANY", "Company", "companyName"),
        ("COMPANY", "Company Name", "companyName"),
        ("COMPANY", "Name", "companyName"),
        ("COMPANY", "Account Name", "companyName"),
        ("COMPANY", "companywebsite", "companyWebsiteDomain"),
        ("COMPANY", "Website", "companyWebsiteDomain"),
        ("COMPANY", "Company Domain", "companyWebsiteDomain"),
        ("COMPANY", "Domain", "companyWebsiteDomain"),
        ("COMPANY", "companyemaildomain", "companyEmailDomain"),
        ("COMPANY", "linkedincompanypageurl", "companyPageUrl"),
        ("COMPANY", "LinkedIn Company Page", "companyPageUrl"),
        ("COMPANY", "stocksymbol", "stockSymbol"),
        ("COMPANY", "Ticker Symbol", "stockSymbol"),
        ("COMPANY", "Industry", "industries"),
        ("COMPANY", "companycountry", "country"),
        ("COMPANY", "Country", "country"),
        ("COMPANY", "zipcode", "postalCode"),
        ("COMPANY", "Postal Code", "postalCode"),
    ],
)
def test_header_variant_maps_to_field(kind, header, field):
    columns = find_columns(["Index", header], kind)

    assert columns.fields == {field: 1}


def test_template_header_wins_over_variant():
    columns = find_columns(["Company", "companyname"], "COMPANY")

    assert columns.fields["companyName"] == 1


def test_organization_urn_column_is_ignored():
    # The company template has no column for an organization URN.
    columns = find_columns(["Name", "Organization URN"], "COMPANY")

    assert columns.fields == {"companyName": 0}
    assert columns.ignored_headers == ["Organization URN"]


# Sample files


def test_customers_sample_hashes_every_email():
    data = (SAMPLE_DATA / "customers-100.csv").read_bytes()
    with open(SAMPLE_DATA / "customers-100.csv", newline="", encoding="utf-8") as handle:
        emails = [row["Email"] for row in csv.DictReader(handle)]

    report, rows = convert(data)

    assert report.rows_read == 100
    assert report.rows_written == 100
    assert report.rows_skipped == 0
    assert report.emails_hashed_here == 100
    assert [row["email"] for row in rows] == [sha256(email.strip().lower()) for email in emails]
    assert list(rows[0]) == ["email", "firstname", "lastname", "employeecompany", "country"]
    assert "@" not in "".join(row["email"] for row in rows)


def test_customers_sample_keeps_quoted_comma_company():
    report, rows = convert((SAMPLE_DATA / "customers-100.csv").read_bytes())

    assert rows[3]["employeecompany"] == "Dominguez, Mcmillan and Donovan"
    assert rows[0]["country"] == "CL"
    assert report.columns[0] == ("email", "Email")
    assert "Phone 1" in report.ignored_columns


def test_organizations_sample_normalises_websites():
    with open(SAMPLE_DATA / "organizations-1000.csv", newline="", encoding="utf-8") as handle:
        source = list(csv.DictReader(handle))

    report, rows = convert((SAMPLE_DATA / "organizations-1000.csv").read_bytes(), "COMPANY")

    assert report.rows_written == 1000
    assert [row["companywebsite"] for row in rows] == [normalize_domain(row["Website"]) for row in source]
    assert [row["companyname"] for row in rows] == [row["Name"] for row in source]
    assert rows[0]["companywebsite"] == "day-hartman.org"
    assert rows[3]["companycountry"] == "US"
    assert list(rows[0]) == ["companyname", "companywebsite", "industry", "companycountry"]


# Valid CSV that must be handled


def test_utf8_bom_is_removed_from_header():
    report, rows = convert(codecs.BOM_UTF8 + b"Email,Name\nada@example.com,Ada\n")

    assert report.columns == [("email", "Email")]
    assert rows == [{"email": sha256("ada@example.com")}]


def test_quoted_bom_in_header_is_removed():
    report, _ = convert('"\ufeffEmail"\nada@example.com\n')

    assert report.columns == [("email", "Email")]


def test_quoted_commas_and_newlines_stay_in_value():
    text = 'Company,Website\n"Acme, Inc.","https://www.acme.example/about"\n"Multi\nline",globex.example\nInitech,initech.example\n'

    report, rows = convert(text, "COMPANY")

    assert [row["companyname"] for row in rows] == ["Acme, Inc.", "Multi line", "Initech"]
    assert rows[0]["companywebsite"] == "acme.example"
    assert report.rows_written == 3


def test_blank_lines_are_counted_not_rows():
    text = "\n\nemail,name\n\nada@example.com,Ada\n , \n\nbob@example.com,Bob\n,\n"

    report, rows = convert(text)

    assert report.rows_read == 2
    assert report.rows_written == 2
    assert report.blank_lines == 6
    assert len(rows) == 2


def test_skipped_row_is_named_by_its_first_line():
    text = 'email,note\nada@example.com,"two\nlines"\nnot-an-email,x\n'

    report, _ = convert(text)

    assert report.skipped["invalid_email"].lines == [4]


def test_crlf_line_endings():
    report, rows = convert(b"email\r\nada@example.com\r\nbob@example.com\r\n")

    assert report.rows_written == 2
    assert rows[1]["email"] == sha256("bob@example.com")


def test_semicolon_file_with_delimiter_option():
    report, rows = convert("Email;Company\nada@example.com;Acme, Inc.\n", delimiter=";")

    assert report.rows_written == 1
    assert rows[0]["employeecompany"] == "Acme, Inc."


def test_cp1252_file_with_encoding_option():
    data = "email,firstname\nada@example.com,Zoë\n".encode("cp1252")

    _, rows = convert(data, encoding="cp1252")

    assert rows[0]["firstname"] == "Zoë"


def test_utf16_file_with_bom_is_read():
    data = "email,firstname\r\nada@example.com,Zoë\r\n".encode("utf-16")

    _, rows = convert(data)

    assert rows == [{"email": sha256("ada@example.com"), "firstname": "Zoë"}]


# Hashing and skips


def test_mixed_hashed_and_plain_emails_are_counted():
    digest = sha256("bob@example.com")
    text = f"email\nAda@Example.com\n{digest.upper()}\n"

    report, rows = convert(text)

    assert [row["email"] for row in rows] == [sha256("ada@example.com"), digest]
    assert report.emails_hashed_here == 1
    assert report.emails_already_hashed == 1
    [warning] = report.warnings()
    assert "mixes SHA-256 digests (1 row) and plain addresses (1 row, hashed here)" in warning


def test_only_hashed_emails_give_no_warning():
    report, _ = convert(f"sha256_email\n{sha256('a@example.com')}\n{sha256('b@example.com')}\n")

    assert report.emails_already_hashed == 2
    assert report.warnings() == []


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("ada@", "invalid_email"),
        ("ada at example.com", "invalid_email"),
        ("0cc175b9c0f1b6a831c399e269772661", "invalid_identifier"),
        ("", "no_identifier"),
        ("   ", "no_identifier"),
        (hashlib.sha512(b"ada@example.com").hexdigest(), "sha512_email"),
    ],
)
def test_bad_email_row_is_skipped(value, reason):
    report, rows = convert(f"Name,E-mail\nAda,{value}\nBob,bob@example.com\n")

    tally = report.skipped[reason]
    assert tally.count == 1
    assert tally.lines == [2]
    assert rows == [{"email": sha256("bob@example.com")}]


def test_skip_detail_names_column_not_value():
    report, _ = convert("E-mail\nsecret.person@\n")

    detail = report.skipped["invalid_email"].detail
    assert "column 'E-mail'" in detail
    assert "secret" not in detail


def test_sha512_email_dropped_but_google_aid_kept():
    aid = "38400000-8cf0-11bd-b23e-10b96e40000d"
    text = f"email,googleaid\n{hashlib.sha512(b'a@example.com').hexdigest()},{aid}\n"

    report, rows = convert(text)

    assert rows == [{"email": "", "googleaid": aid}]
    assert report.blanked["email"].count == 1


def test_duplicate_members_are_written_once():
    report, rows = convert("email\nada@example.com\n ADA@example.com \nbob@example.com\n")

    assert len(rows) == 2
    assert report.skipped["duplicate"].lines == [3]


def test_wrong_field_count_row_is_skipped():
    text = "Company,Website,Country\nAcme, Inc.,acme.example,US\nGlobex,globex.example,US\n"

    report, rows = convert(text, "COMPANY")

    tally = report.skipped["wrong_field_count"]
    assert tally.lines == [2]
    assert "4 fields where the header has 3" in tally.detail
    assert "quote values that contain ','" in tally.detail
    assert [row["companyname"] for row in rows] == ["Globex"]


def test_invalid_optional_value_is_left_blank():
    report, rows = convert("email,country\nada@example.com,Atlantis\nbob@example.com,France\n")

    assert [row["country"] for row in rows] == ["", "FR"]
    assert report.blanked["country"].lines == [2]
    assert "column 'country' has 1 invalid value, written as blank (line 2)" in report.warnings()


def test_company_row_without_identifier_is_skipped():
    report, rows = convert("Company,Website,City\n,,Austin\nAcme,,\n", "COMPANY")

    assert report.skipped["no_identifier"].lines == [2]
    assert rows == [{"companyname": "Acme", "companywebsite": "", "city": ""}]


def test_too_few_rows_is_reported_not_raised():
    report, _ = convert("email\nada@example.com\n")

    assert "only 1 rows were written and LinkedIn needs at least 300" in report.limit_problem()


def test_minimum_rows_met():
    text = "email\n" + "".join(f"user{i}@example.com\n" for i in range(300))

    report, _ = convert(text)

    assert report.limit_problem() is None


# Bad files


def test_empty_file_is_rejected():
    assert "the file is empty" in convert_error(b"")
    assert "the file is empty" in convert_error(b"\n\n\r\n")


def test_semicolon_header_names_delimiter_option():
    message = convert_error("Email;Company\nada@example.com;Acme\n")

    assert "line 1:" in message
    assert "--delimiter ';'" in message


def test_tab_header_names_delimiter_option():
    message = convert_error("Email\tCompany\nada@example.com\tAcme\n")

    assert "--delimiter '\\t'" in message


def test_invalid_utf8_names_line_and_byte():
    data = b"email,firstname\nada@example.com,Ada\nbob@example.com,Zo\xeb\n"

    message = convert_error(data)

    assert "line 3, byte 19: not valid utf-8 text" in message
    assert "--encoding cp1252" in message


def test_unknown_encoding_is_rejected():
    assert "unknown encoding 'latin-9000'" in convert_error(b"email\n", encoding="latin-9000")


def test_nul_bytes_are_rejected():
    message = convert_error(b"email\nada@exa\x00mple.com\n")

    assert "line 2 contains NUL bytes" in message


def test_unclosed_quote_names_line():
    message = convert_error('email,name\nada@example.com,"Ada\nbob@example.com,Bob\n')

    assert message.startswith("line 2: not valid CSV (unexpected end of data)")


def test_text_after_closing_quote_names_line():
    message = convert_error('email,name\nada@example.com,"Ada"x\n')

    assert message.startswith("line 2: not valid CSV")


def test_no_usable_column_lists_headers_and_hint():
    message = convert_error("Name,Website\nAcme,acme.example\n")

    assert "line 1: no usable column for a USER list" in message
    assert "found columns 'Name', 'Website'" in message
    assert "the columns fit a COMPANY list, so check --type" in message


def test_missing_header_row_does_not_echo_values():
    message = convert_error("ada.lovelace@example.com,Ada,Lovelace\n")

    assert "no header row" in message
    assert "lovelace" not in message.lower()


def test_too_many_rows_is_rejected(monkeypatch):
    monkeypatch.setattr(list_files, "MAX_ROWS", 3)
    text = "email\n" + "".join(f"user{i}@example.com\n" for i in range(4))

    message = convert_error(text)

    assert message.startswith("line 5: more than 3 members")
    assert "split the file" in message


def test_too_many_bytes_is_rejected(monkeypatch):
    monkeypatch.setattr(list_files, "MAX_FILE_BYTES", 200)
    text = "email\n" + "".join(f"user{i}@example.com\n" for i in range(5))

    message = convert_error(text)

    assert "the upload file passed" in message
    assert "at most 20 MB" in message


def test_overlong_line_is_rejected(monkeypatch):
    monkeypatch.setattr(csv_input, "MAX_LINE_BYTES", 100)

    message = convert_error("email\n" + "a" * 200 + "@example.com\n")

    assert message.startswith("line 2 is longer than")


def test_cr_only_line_endings():
    report, rows = convert(b'email,name\rada@example.com,"Ada\rLovelace"\rbob@example.com,Bob\r')

    assert report.rows_written == 2
    assert rows[1]["email"] == sha256("bob@example.com")


def test_overlong_cr_only_line_is_rejected(monkeypatch):
    monkeypatch.setattr(csv_input, "MAX_LINE_BYTES", 100)

    message = convert_error("email\r" + "a" * 200 + "@example.com\r")

    assert message.startswith("line 2 is longer than")
