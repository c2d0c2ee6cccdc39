"""Table-driven tests of member mapping: normalisation, hashing, limits and skip reasons."""

from __future__ import annotations

import hashlib

import pytest

from target_linkedin_audiences.members import (
    COMPANY_FIELDS,
    SKIP_REASONS,
    USER_FIELDS,
    MappedMember,
    MemberMapper,
    SkippedRecord,
    canonical_email,
    hash_email,
    normalize_country,
    normalize_domain,
    normalize_email_domain,
    normalize_google_aid,
    normalize_industries,
    normalize_organization_urn,
    normalize_page_url,
    normalize_postal_code,
    normalize_stock_symbol,
    redact_element,
)
from target_linkedin_audiences import company_values, normalize
from target_linkedin_audiences.normalize import classify_email


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


UPPER_SHA256 = sha256("ana.lopez@example.com").upper()
SHA512_DIGEST = hashlib.sha512(b"ana.lopez@example.com").hexdigest()
TEN_MB = "a" * 10_000_000 + "@example.com"
GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"


# --- emails ---------------------------------------------------------------------------------

HASH_EMAIL_CASES = [
    ("  Ana.Lopez@Example.COM ", ("SHA256_EMAIL", sha256("ana.lopez@example.com"))),
    ("ana.lopez@example.com", ("SHA256_EMAIL", sha256("ana.lopez@example.com"))),
    ("first.o'neil+tag@sub.example.co.uk", ("SHA256_EMAIL", sha256("first.o'neil+tag@sub.example.co.uk"))),
    (UPPER_SHA256, ("SHA256_EMAIL", UPPER_SHA256.lower())),
    (f"  {UPPER_SHA256}\t", ("SHA256_EMAIL", UPPER_SHA256.lower())),
    (SHA512_DIGEST.upper(), ("SHA512_EMAIL", SHA512_DIGEST)),
    # Internationalised domains are hashed in Unicode form, and punycode input is decoded first.
    ("José@Bücher.DE", ("SHA256_EMAIL", sha256("josé@bücher.de"))),
    ("josé@xn--bcher-kva.de", ("SHA256_EMAIL", sha256("josé@bücher.de"))),
    ("user@例え.jp", ("SHA256_EMAIL", sha256("user@例え.jp"))),
]


@pytest.mark.parametrize(("value", "expected"), HASH_EMAIL_CASES)
def test_hash_email_valid(value, expected):
    assert hash_email(value) == expected


INVALID_EMAILS = [
    "",
    "   ",
    "ana.lopez",
    "ana.lopez@",
    "@example.com",
    "ana@@example.com",
    "ana@lopez@example.com",
    "ana lopez@example.com",
    "ana@example",
    "ana@example.c0m",
    "ana@-example.com",
    "ana@example-.com",
    "ana@exa_mple.com",
    "ana@example..com",
    "ana@example.com.",
    ".ana@example.com",
    "ana.@example.com",
    "an..a@example.com",
    "Ana Lopez <ana@example.com>",
    "mailto:ana@example.com",
    "ana@192.168.0.1",
    "ana\x00@example.com",
    "ana\ud800@example.com",
    "ana@exam\ud800ple.com",
    "a" * 65 + "@example.com",
    "ana@" + "a" * 64 + ".com",
    "ana@xn--zz.com",
    TEN_MB,
    12345,
    1.5,
    True,
    None,
    ["ana@example.com"],
    {"value": "ana@example.com"},
]


@pytest.mark.parametrize("value", INVALID_EMAILS, ids=lambda value: repr(value)[:40])
def test_hash_email_invalid(value):
    assert hash_email(value) is None


CLASSIFY_REASON_CASES = [
    ("g" * 64, "invalid_identifier"),  # digest length, not hex
    ("z" * 128, "invalid_identifier"),
    (UPPER_SHA256[:-1] + "G", "invalid_identifier"),
    ("d41d8cd98f00b204e9800998ecf8427e", "invalid_identifier"),  # MD5 is not accepted
    ("da39a3ee5e6b4b0d3255bfef95601890afd80709", "invalid_identifier"),  # SHA-1
    ("a" * 63, "invalid_identifier"),  # a truncated digest
    ("ana" * 21, "invalid_email"),
    ("not an email", "invalid_email"),
    (42, "invalid_email"),
]


@pytest.mark.parametrize(("value", "reason"), CLASSIFY_REASON_CASES)
def test_classify_email_reason(value, reason):
    assert classify_email(value) == reason


def test_digest_never_hashed_again():
    digest = sha256("ana.lopez@example.com")

    assert classify_email(digest) == ("SHA256_EMAIL", digest, True)
    assert classify_email(SHA512_DIGEST) == ("SHA512_EMAIL", SHA512_DIGEST, True)


def test_canonical_email_lowercases_and_trims():
    assert canonical_email("  Ana.Lopez@Example.COM ") == "ana.lopez@example.com"
    assert canonical_email("ANA@BÜCHER.DE") == "ana@bücher.de"


def test_canonical_email_applies_nfc():
    decomposed = "jose\u0301@example.com"

    assert canonical_email(decomposed) == "jos\u00e9@example.com"


# --- Google advertising ids -----------------------------------------------------------------

GAID_CASES = [
    (GAID, GAID),
    (f"  {GAID.upper()} ", GAID),
    ("00000000-0000-0000-0000-000000000000", None),
    ("38400000-8cf0-11bd-b23e", None),
    ("not-a-gaid", None),
    (12345, None),
    (None, None),
]


@pytest.mark.parametrize(("value", "expected"), GAID_CASES)
def test_normalize_google_aid(value, expected):
    assert normalize_google_aid(value) == expected


# --- countries ------------------------------------------------------------------------------

COUNTRY_CASES = [
    ("US", "US"),
    ("us", "US"),
    (" gb ", "GB"),
    ("USA", "US"),
    ("U.S.A.", "US"),
    ("840", "US"),
    ("United States of America", "US"),
    ("united states", "US"),
    ("Cote d'Ivoire", "CI"),
    ("Côte d’Ivoire", "CI"),
    ("Antigua and Barbuda", "AG"),
    ("Bosnia & Herzegovina", "BA"),
    ("UK", "GB"),
    ("United Kingdom", "GB"),
    ("England", "GB"),
    ("South Korea", "KR"),
    ("Korea, Republic of", "KR"),
    ("Russia", "RU"),
    ("Viet Nam", "VN"),
    ("Vietnam", "VN"),
    ("Iran", "IR"),
    ("Czech Republic", "CZ"),
    ("Slovakia (Slovak Republic)", "SK"),
    ("Niger", "NE"),
    ("Nigeria", "NG"),
    # Ambiguous or unknown names are omitted, never guessed.
    ("Korea", None),
    ("Virgin Islands", None),
    ("Turkey", None),
    ("Narnia", None),
    ("XX", None),
    ("Uni", None),
    ("", None),
    ("US\x00", None),
    ("x" * 10_000_000, None),
    (840, None),
    (None, None),
    (["US"], None),
]


@pytest.mark.parametrize(("value", "expected"), COUNTRY_CASES, ids=lambda value: repr(value)[:30])
def test_normalize_country(value, expected):
    assert normalize_country(value) == expected


# --- company values -------------------------------------------------------------------------

DOMAIN_CASES = [
    ("http://www.Example.com/path?q", "example.com"),
    ("https://sub.example.co.uk", "sub.example.co.uk"),
    ("example.com", "example.com"),
    ("www.example.com:8080", "example.com"),
    ("HTTPS://WWW.EXAMPLE.COM/", "example.com"),
    ("https://user:pw@www.example.com:443/a#b", "example.com"),
    ("example.com.", "example.com"),
    ("www.com", "www.com"),
    ("https://bücher.de/shop", "xn--bcher-kva.de"),
    ("xn--bcher-kva.de", "xn--bcher-kva.de"),
    ("garbage", None),
    ("not a domain", None),
    ("http://", None),
    ("http://192.168.0.1/", None),
    ("https://[::1]/", None),
    ("exa_mple.com", None),
    ("-example.com", None),
    ("example.com\x00", None),
    ("x" * 10_000_000, None),
    (42, None),
    (None, None),
]


@pytest.mark.parametrize(("value", "expected"), DOMAIN_CASES, ids=lambda value: repr(value)[:30])
def test_normalize_domain(value, expected):
    assert normalize_domain(value) == expected


EMAIL_DOMAIN_CASES = [
    ("ana@Example.COM", "example.com"),
    ("example.com", "example.com"),
    ("  mail.example.com ", "mail.example.com"),
    ("ana@bücher.de", "xn--bcher-kva.de"),
    ("ana@", None),
    ("nonsense", None),
    (7, None),
]


@pytest.mark.parametrize(("value", "expected"), EMAIL_DOMAIN_CASES)
def test_normalize_email_domain(value, expected):
    assert normalize_email_domain(value) == expected


URN_CASES = [
    ("123", "urn:li:organization:123"),
    (123, "urn:li:organization:123"),
    (" 00123 ", "urn:li:organization:123"),
    ("urn:li:organization:123", "urn:li:organization:123"),
    ("URN:LI:ORGANIZATION:123", "urn:li:organization:123"),
    ("urn:li:organization:urn:li:organization:123", "urn:li:organization:123"),
    ("urn:li:company:123", None),
    ("urn:li:organization:", None),
    ("urn:li:organization:abc", None),
    ("urn:li:organization:-5", None),
    ("0", None),
    (0, None),
    (-1, None),
    ("12 3", None),
    ("١٢٣", None),  # Arabic-Indic digits pass str.isdigit() but are not an id
    ("9" * 30, None),
    (True, None),
    (12.0, None),
    (None, None),
]


@pytest.mark.parametrize(("value", "expected"), URN_CASES)
def test_normalize_organization_urn(value, expected):
    assert normalize_organization_urn(value) == expected


PAGE_URL_CASES = [
    ("https://www.linkedin.com/company/acme", "https://www.linkedin.com/company/acme"),
    ("http://linkedin.com/company/acme/", "https://www.linkedin.com/company/acme"),
    ("linkedin.com/company/acme", "https://www.linkedin.com/company/acme"),
    ("www.linkedin.com/company/acme/about/?trk=x#y", "https://www.linkedin.com/company/acme"),
    ("https://uk.linkedin.com/company/acme", "https://www.linkedin.com/company/acme"),
    ("/company/acme", "https://www.linkedin.com/company/acme"),
    ("company/acme", "https://www.linkedin.com/company/acme"),
    ("https://www.linkedin.com/school/mit/", "https://www.linkedin.com/school/mit"),
    ("https://www.linkedin.com/company/12345", "https://www.linkedin.com/company/12345"),
    ("https://www.linkedin.com/in/ana-lopez", None),
    ("https://example.com/company/acme", None),
    ("https://notlinkedin.com/company/acme", None),
    ("https://www.linkedin.com/company/", None),
    ("acme", None),
    ("ftp://www.linkedin.com/company/acme", None),
    ("https://www.linkedin.com/company/" + "a" * 80, None),
    (42, None),
]


@pytest.mark.parametrize(("value", "expected"), PAGE_URL_CASES)
def test_normalize_page_url(value, expected):
    assert normalize_page_url(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("msft", "MSFT"), (" $aapl ", "AAPL"), ("NASDAQ:MSFT", "MSFT"), ("BRK.B", "BRK.B"),
     ("GOOGLE", None), ("AB CD", None), ("", None), (5, "5")],
)
def test_normalize_stock_symbol(value, expected):
    assert normalize_stock_symbol(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("94107", "94107"), (94107, "94107"), (" SW1A 1AA ", "SW1A 1AA"), ("1" * 21, None),
     (94107.0, None), ("\x00", None)],
)
def test_normalize_postal_code(value, expected):
    assert normalize_postal_code(value) == expected


INDUSTRY_CASES = [
    ("Dairy", (["Dairy"], False)),
    ("Dairy; Farming ;Food", (["Dairy", "Farming", "Food"], False)),
    ("Dairy, Farming", (["Dairy", "Farming"], False)),
    ("Computer Software;Technology, Information and Internet",
     (["Computer Software", "Technology, Information and Internet"], False)),
    (["A", "b", "B", "C", "D"], (["A", "b", "C"], False)),
    (["A", "", None, "B"], (["A", "B"], False)),
    (["A", 7, "x" * 51], (["A"], True)),
    (" ; ; ", (None, False)),
    (42, (None, True)),
]


@pytest.mark.parametrize(("value", "expected"), INDUSTRY_CASES)
def test_normalize_industries(value, expected):
    assert normalize_industries(value) == expected


# --- MemberMapper configuration -------------------------------------------------------------

def test_mapper_unknown_field_lists_accepted():
    with pytest.raises(ValueError, match="unknown LinkedIn field 'emailAddress'") as raised:
        MemberMapper("USER", {"emailAddress": "Email"})

    for field_name in USER_FIELDS:
        assert field_name in str(raised.value)


def test_mapper_company_field_on_user_rejected():
    with pytest.raises(ValueError, match="'companyName'"):
        MemberMapper("USER", {"email": "Email", "companyName": "Name"})


def test_mapper_user_needs_identifier():
    with pytest.raises(ValueError, match="email, googleAid"):
        MemberMapper("USER", {"firstName": "FirstName", "lastName": "LastName"})


def test_mapper_company_needs_identifier():
    with pytest.raises(ValueError, match="organizationUrn"):
        MemberMapper("COMPANY", {"industries": "Industry", "country": "Country"})


@pytest.mark.parametrize("segment_type", ["PERSON", "", None, 3])
def test_mapper_invalid_segment_type(segment_type):
    with pytest.raises(ValueError, match="invalid segment type"):
        MemberMapper(segment_type, {"email": "Email"})


@pytest.mark.parametrize("property_name", ["", "  ", None, 5])
def test_mapper_invalid_property_name(property_name):
    with pytest.raises(ValueError, match="invalid record property for LinkedIn field 'email'"):
        MemberMapper("USER", {"email": property_name})


def test_mapper_accepts_lowercase_type():
    assert MemberMapper("company", {"companyName": "Name"}).segment_type == "COMPANY"


def test_field_lists_match_interface():
    assert USER_FIELDS == ("email", "googleAid", "firstName", "lastName", "title", "company", "country")
    assert "companyWebsiteDomain" in COMPANY_FIELDS
    assert len(COMPANY_FIELDS) == 11


# --- USER records ---------------------------------------------------------------------------

CONTACT_FIELDS = {
    "email": "Email",
    "firstName": "FirstName",
    "lastName": "LastName",
    "title": "Title",
    "company": "Company",
    "country": "MailingCountry",
}


def test_map_user_full_record():
    mapper = MemberMapper("USER", CONTACT_FIELDS)
    record = {
        "Email": "  Ana.Lopez@Example.COM ",
        "FirstName": " Ana ",
        "LastName": "López",
        "Title": "VP  Marketing",
        "Company": "Dominguez, Mcmillan and Donovan",
        "MailingCountry": "United States of America",
    }

    member = mapper.map(record)

    digest = sha256("ana.lopez@example.com")
    assert member == MappedMember(
        element={
            "userIds": [{"idType": "SHA256_EMAIL", "idValue": digest}],
            "firstName": "Ana",
            "lastName": "López",
            "title": "VP Marketing",
            "company": "Dominguez, Mcmillan and Donovan",
            "country": "US",
        },
        key=digest,
        prehashed=False,
        invalid_fields=(),
    )


def test_map_user_truncates_to_limits():
    mapper = MemberMapper("USER", CONTACT_FIELDS)

    member = mapper.map({
        "Email": "a@example.com",
        "FirstName": "F" * 40,
        "LastName": "L" * 34 + " X",
        "Title": "T" * 60,
        "Company": "C" * 51,
    })

    assert member.element["firstName"] == "F" * 35
    assert member.element["lastName"] == "L" * 34
    assert member.element["title"] == "T" * 50
    assert member.element["company"] == "C" * 50


def test_map_user_prehashed_sha512():
    mapper = MemberMapper("USER", {"email": "hashed"})

    member = mapper.map({"hashed": SHA512_DIGEST.upper()})

    assert member.element == {"userIds": [{"idType": "SHA512_EMAIL", "idValue": SHA512_DIGEST}]}
    assert member.key == SHA512_DIGEST
    assert member.prehashed is True


def test_map_user_email_and_gaid():
    mapper = MemberMapper("USER", {"email": "email", "googleAid": "gaid"})

    member = mapper.map({"email": "a@example.com", "gaid": GAID.upper()})

    assert member.element["userIds"] == [
        {"idType": "SHA256_EMAIL", "idValue": sha256("a@example.com")},
        {"idType": "GOOGLE_AID", "idValue": GAID},
    ]
    assert member.key == sha256("a@example.com")


def test_map_user_gaid_only_key_is_hashed():
    mapper = MemberMapper("USER", {"email": "email", "googleAid": "gaid"})

    member = mapper.map({"email": "  ", "gaid": GAID})

    assert member.element["userIds"] == [{"idType": "GOOGLE_AID", "idValue": GAID}]
    assert member.key == sha256(f"GOOGLE_AID:{GAID}")
    assert GAID not in member.key


def test_map_user_invalid_email_kept_by_gaid():
    mapper = MemberMapper("USER", {"email": "email", "googleAid": "gaid"})

    member = mapper.map({"email": "not-an-email", "gaid": GAID})

    assert isinstance(member, MappedMember)
    assert member.invalid_fields == ("email",)


def test_map_user_invalid_optional_fields_counted():
    mapper = MemberMapper("USER", CONTACT_FIELDS)

    member = mapper.map({
        "Email": "a@example.com",
        "FirstName": "Ana\x00",
        "LastName": ["Lopez"],
        "Title": None,
        "MailingCountry": "Narnia",
    })

    assert member.element == {"userIds": [{"idType": "SHA256_EMAIL", "idValue": sha256("a@example.com")}]}
    assert member.invalid_fields == ("firstName", "lastName", "country")


SKIP_CASES = [
    ({}, "no_identifier"),
    ({"Email": None}, "no_identifier"),
    ({"Email": ""}, "no_identifier"),
    ({"Email": " \t\n "}, "no_identifier"),
    ({"Email": "ana.lopez@"}, "invalid_email"),
    ({"Email": "ana lopez@example.com"}, "invalid_email"),
    ({"Email": "ana\x00@example.com"}, "invalid_email"),
    ({"Email": TEN_MB}, "invalid_email"),
    ({"Email": 12345}, "invalid_email"),
    ({"Email": ["ana@example.com"]}, "invalid_email"),
    ({"Email": {"nested": "ana@example.com"}}, "invalid_email"),
    ({"Email": "g" * 64}, "invalid_identifier"),
    ({"Email": "z" * 128}, "invalid_identifier"),
]


@pytest.mark.parametrize(("record", "reason"), SKIP_CASES, ids=lambda value: repr(value)[:40])
def test_map_user_skip_reason(record, reason):
    mapper = MemberMapper("USER", CONTACT_FIELDS)

    result = mapper.map(record)

    assert isinstance(result, SkippedRecord)
    assert result.reason == reason
    assert result.reason in SKIP_REASONS
    assert "'Email'" in result.detail


def test_map_user_invalid_gaid_only_skipped():
    mapper = MemberMapper("USER", {"googleAid": "gaid"})

    result = mapper.map({"gaid": "not-a-gaid"})

    assert result == SkippedRecord("invalid_identifier", "invalid Google advertising id in property 'gaid'")


@pytest.mark.parametrize("value", ["ana.lopez@", "Ana Lopez <ana.lopez@example.com>", "ana.lopez"])
def test_skip_detail_never_contains_value(value):
    mapper = MemberMapper("USER", CONTACT_FIELDS)

    result = mapper.map({"Email": value, "FirstName": "Ana"})

    assert "ana" not in result.detail.lower()
    assert "ana" not in repr(result).lower()


HOSTILE_VALUES = ["\x00", "a\x00b", "a\ud800b", "x" * 10_000_000, 0, -1, 1.5, True, [], ["x"], {}, {"k": "v"}]


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=lambda value: repr(value)[:20])
@pytest.mark.parametrize("field_name", ["firstName", "lastName", "title", "company", "country"])
def test_map_user_hostile_optional_value(field_name, value):
    mapper = MemberMapper("USER", CONTACT_FIELDS)
    record = {"Email": "a@example.com", CONTACT_FIELDS[field_name]: value}

    member = mapper.map(record)

    assert isinstance(member, MappedMember)
    assert field_name not in member.element or isinstance(member.element[field_name], str)
    if field_name not in member.element and value not in ([], {}):
        assert member.invalid_fields == (field_name,)


def test_map_reads_nested_and_value_objects():
    mapper = MemberMapper("USER", {"email": "properties.email", "firstName": "property_firstname"})
    record = {
        "properties": {"email": {"value": "A@Example.com", "timestamp": 1}},
        "property_firstname": {"value": "Ana"},
    }

    member = mapper.map(record)

    assert member.element["userIds"][0]["idValue"] == sha256("a@example.com")
    assert member.element["firstName"] == "Ana"


def test_map_prefers_dotted_key_over_path():
    mapper = MemberMapper("USER", {"email": "email", "company": "Account.Name"})

    member = mapper.map({"email": "a@example.com", "Account.Name": "Acme", "Account": {"Name": "Other"}})

    assert member.element["company"] == "Acme"


def test_map_missing_nested_parent():
    mapper = MemberMapper("USER", {"email": "properties.email"})

    assert mapper.map({"properties": None}).reason == "no_identifier"
    assert mapper.map({"properties": "text"}).reason == "no_identifier"


# --- COMPANY records ------------------------------------------------------------------------

ACCOUNT_FIELDS = {
    "companyName": "Name",
    "companyWebsiteDomain": "Website",
    "companyEmailDomain": "EmailDomain",
    "organizationUrn": "LinkedInId",
    "companyPageUrl": "LinkedInPage",
    "stockSymbol": "TickerSymbol",
    "industries": "Industry",
    "city": "BillingCity",
    "state": "BillingState",
    "country": "BillingCountry",
    "postalCode": "BillingPostalCode",
}


def test_map_company_full_record():
    mapper = MemberMapper("COMPANY", ACCOUNT_FIELDS)
    record = {
        "Name": ' "Dominguez, Mcmillan and Donovan" ',
        "Website": "http://www.Example.com/path?q",
        "EmailDomain": "sales@Example.com",
        "LinkedInId": "URN:LI:ORGANIZATION:123",
        "LinkedInPage": "linkedin.com/company/example/",
        "TickerSymbol": "exmp",
        "Industry": "Dairy;Farming",
        "BillingCity": "San Francisco",
        "BillingState": "CA",
        "BillingCountry": "United States of America",
        "BillingPostalCode": 94107,
    }

    member = mapper.map(record)

    assert member.element == {
        "companyName": '"Dominguez, Mcmillan and Donovan"',
        "companyWebsiteDomain": "example.com",
        "companyEmailDomain": "example.com",
        "organizationUrn": "urn:li:organization:123",
        "companyPageUrl": "https://www.linkedin.com/company/example",
        "stockSymbol": "EXMP",
        "industries": ["Dairy", "Farming"],
        "city": "San Francisco",
        "state": "CA",
        "country": "US",
        "postalCode": "94107",
    }
    assert member.invalid_fields == ()
    assert member.prehashed is False


def test_map_company_key_stable():
    mapper = MemberMapper("COMPANY", ACCOUNT_FIELDS)

    first = mapper.map({"Name": "Acme Corp", "Website": "https://www.acme.com/", "Industry": "A"})
    second = mapper.map({"Name": "ACME CORP", "Website": "acme.com", "BillingCity": "Paris"})
    other = mapper.map({"Name": "Acme Corp", "Website": "acme.org"})

    assert first.key == second.key
    assert first.key != other.key
    assert len(first.key) == 64


def test_map_company_invalid_optional_fields_counted():
    mapper = MemberMapper("COMPANY", ACCOUNT_FIELDS)

    member = mapper.map({
        "Name": "Acme",
        "Website": "garbage",
        "TickerSymbol": "TOOLONG",
        "Industry": ["Dairy", "x" * 51],
        "BillingCountry": "Korea",
        "BillingPostalCode": "1" * 21,
        "BillingCity": "C" * 60,
    })

    assert member.element == {
        "companyName": "Acme",
        "industries": ["Dairy"],
        "city": "C" * 50,
    }
    assert member.invalid_fields == (
        "companyWebsiteDomain", "stockSymbol", "industries", "country", "postalCode",
    )


def test_map_company_no_identifier():
    mapper = MemberMapper("COMPANY", ACCOUNT_FIELDS)

    result = mapper.map({"Name": "  ", "Industry": "Dairy"})

    assert result.reason == "no_identifier"
    assert "'Name'" in result.detail
    assert "'Website'" in result.detail


def test_map_company_invalid_identifier():
    mapper = MemberMapper("COMPANY", ACCOUNT_FIELDS)

    result = mapper.map({"Website": "garbage", "LinkedInId": "urn:li:organization:abc"})

    assert result.reason == "invalid_identifier"
    assert "'Website'" in result.detail
    assert "'LinkedInId'" in result.detail
    assert "garbage" not in result.detail


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=lambda value: repr(value)[:20])
@pytest.mark.parametrize("field_name", COMPANY_FIELDS)
def test_map_company_hostile_value(field_name, value):
    mapper = MemberMapper("COMPANY", ACCOUNT_FIELDS)

    result = mapper.map({ACCOUNT_FIELDS[field_name]: value})

    assert isinstance(result, (MappedMember, SkippedRecord))
    if isinstance(result, SkippedRecord):
        assert result.reason in SKIP_REASONS


# --- redaction ------------------------------------------------------------------------------

def test_redact_user_element():
    digest = sha256("a@example.com")
    element = {
        "userIds": [
            {"idType": "SHA256_EMAIL", "idValue": digest},
            {"idType": "GOOGLE_AID", "idValue": GAID},
        ],
        "firstName": "Ana",
        "lastName": "López",
        "title": "VP",
        "country": "US",
    }

    redacted = redact_element(element)

    assert redacted == {
        "userIds": [
            {"idType": "SHA256_EMAIL", "idValue": digest},
            {"idType": "GOOGLE_AID", "idValue": "[redacted]"},
        ],
        "firstName": "[redacted]",
        "lastName": "[redacted]",
        "title": "VP",
        "country": "US",
    }
    assert element["firstName"] == "Ana"
    assert element["userIds"][1]["idValue"] == GAID


def test_redact_company_element_unchanged():
    element = {"companyName": "Acme", "companyWebsiteDomain": "acme.com", "industries": ["A"]}

    assert redact_element(element) == element


JUNK_VALUES = [
    None, 0, -1, 3.5, True, [], ["a@b.com"], {}, {"value": None}, b"bytes", "", " ", "\x00",
    "a\x00b@example.com", "\ud800", "x" * 10_000_000, "@", "http://", "urn:li:organization:",
]
NORMALIZERS = [
    normalize.clean_text, normalize.hash_email, normalize.canonical_email, normalize.normalize_google_aid,
    normalize.normalize_country, company_values.normalize_domain, company_values.normalize_email_domain,
    company_values.normalize_organization_urn, company_values.normalize_page_url,
    company_values.normalize_stock_symbol, company_values.normalize_postal_code,
]


@pytest.mark.parametrize("normalizer", NORMALIZERS, ids=lambda function: function.__name__)
def test_normalizers_never_raise_on_junk(normalizer):
    for value in JUNK_VALUES:
        result = normalizer(value)
        assert result is None or isinstance(result, (str, tuple))


def test_industries_never_raise_on_junk():
    for value in JUNK_VALUES:
        names, had_invalid = company_values.normalize_industries(value)
        assert names is None or all(isinstance(name, str) for name in names)
        assert isinstance(had_invalid, bool)


def test_canonical_email_matches_whole_pattern():
    # canonical_email checks the local part and the domain separately and memoises domains;
    # for ASCII addresses the result must equal one match of the whole-address pattern.
    import random

    from target_linkedin_audiences.normalize import _ASCII_EMAIL_RE

    rng = random.Random(4)
    alphabet = "ab9.-_+!#@x" + "A"
    checked = valid = 0
    for _ in range(20_000):
        local = "".join(rng.choice(alphabet.replace("@", "")) for _ in range(rng.randint(0, 8)))
        domain = "".join(rng.choice("ab9.-x") for _ in range(rng.randint(0, 10))) + rng.choice(["", ".com", ".c", ".xn--p1ai"])
        address = f"{local}@{domain}"
        lowered = address.lower()
        expected = lowered if len(lowered) <= 254 and 0 < len(local) <= 64 and _ASCII_EMAIL_RE.fullmatch(lowered) else None
        if "xn--" in domain:
            continue  # A-label domains take the IDNA path, tested above
        assert canonical_email(address) == expected, address
        checked += 1
        valid += expected is not None
    assert checked > 10_000
    assert valid > 1_000
