"""Tests of segment type and field detection from Singer schemas."""

from __future__ import annotations

import pytest

from target_linkedin_audiences.detection import (
    DETECTION_HINT,
    DetectedSegment,
    detect_segment,
    normalize_property_name,
)
from target_linkedin_audiences.members import MappedMember, MemberMapper

STRING = {"type": ["null", "string"]}
HUBSPOT_VALUE = {
    "type": "object",
    "properties": {"value": STRING, "timestamp": {"type": ["null", "string"]}},
}


def flat_schema(*names: str, property_schema: dict = STRING) -> dict:
    return {"type": "object", "properties": {name: dict(property_schema) for name in names}}


def nested_schema(*names: str, property_schema: dict = STRING) -> dict:
    return {
        "type": "object",
        "properties": {
            "id": STRING,
            "properties": {
                "type": "object",
                "properties": {name: dict(property_schema) for name in names},
            },
        },
    }


SALESFORCE_CONTACT = flat_schema(
    "Id", "AccountId", "Name", "Email", "FirstName", "LastName", "Title", "MailingCity",
    "MailingCountry", "SystemModstamp",
)
SALESFORCE_LEAD = flat_schema(
    "Id", "Name", "Email", "FirstName", "LastName", "Title", "Company", "Country", "CountryCode",
)
SALESFORCE_ACCOUNT = flat_schema(
    "Id", "Name", "Website", "BillingCity", "BillingState", "BillingPostalCode", "BillingCountry",
    "Industry", "TickerSymbol", "SystemModstamp",
)
CUSTOMERS_CSV = flat_schema(
    "Index", "Customer Id", "First Name", "Last Name", "Company", "City", "Country", "Phone 1",
    "Phone 2", "Email", "Subscription Date", "Website",
)
ORGANIZATIONS_CSV = flat_schema(
    "Index", "Organization", "Name", "Website", "Country", "Description", "Founded", "Industry",
    "Employees",
)

DETECTION_CASES = [
    (
        "Contact",
        SALESFORCE_CONTACT,
        DetectedSegment(
            "USER",
            {"email": "Email", "firstName": "FirstName", "lastName": "LastName",
             "title": "Title", "country": "MailingCountry"},
            "Salesforce Contact",
        ),
    ),
    (
        "Lead",
        SALESFORCE_LEAD,
        DetectedSegment(
            "USER",
            {"email": "Email", "firstName": "FirstName", "lastName": "LastName", "title": "Title",
             "company": "Company", "country": "CountryCode"},
            "Salesforce Lead",
        ),
    ),
    (
        "Account",
        SALESFORCE_ACCOUNT,
        DetectedSegment(
            "COMPANY",
            {"companyName": "Name", "companyWebsiteDomain": "Website", "stockSymbol": "TickerSymbol",
             "industries": "Industry", "city": "BillingCity", "state": "BillingState",
             "country": "BillingCountry", "postalCode": "BillingPostalCode"},
            "Salesforce Account",
        ),
    ),
    (
        "contacts",
        nested_schema("email", "firstname", "lastname", "jobtitle", "company", "country", "website"),
        DetectedSegment(
            "USER",
            {"email": "properties.email", "firstName": "properties.firstname",
             "lastName": "properties.lastname", "title": "properties.jobtitle",
             "company": "properties.company", "country": "properties.country"},
            "HubSpot contacts",
        ),
    ),
    (
        "companies",
        nested_schema(
            "name", "domain", "website", "industry", "city", "state", "country", "zip",
            "linkedin_company_page",
        ),
        DetectedSegment(
            "COMPANY",
            {"companyName": "properties.name", "companyWebsiteDomain": "properties.domain",
             "companyPageUrl": "properties.linkedin_company_page",
             "industries": "properties.industry", "city": "properties.city",
             "state": "properties.state", "country": "properties.country",
             "postalCode": "properties.zip"},
            "HubSpot companies",
        ),
    ),
    (
        "customers",
        CUSTOMERS_CSV,
        DetectedSegment(
            "USER",
            {"email": "Email", "firstName": "First Name", "lastName": "Last Name",
             "company": "Company", "country": "Country"},
            "generic email column",
        ),
    ),
    (
        "organizations",
        ORGANIZATIONS_CSV,
        DetectedSegment(
            "COMPANY",
            {"companyName": "Name", "companyWebsiteDomain": "Website", "industries": "Industry",
             "country": "Country"},
            "generic company columns",
        ),
    ),
    (
        "signups",
        flat_schema("id", "work_email", "created_at"),
        DetectedSegment("USER", {"email": "work_email"}, "generic email column"),
    ),
    (
        "leads_export",
        flat_schema("EMAIL_ADDRESS", "JOB_TITLE"),
        DetectedSegment("USER", {"email": "EMAIL_ADDRESS", "title": "JOB_TITLE"}, "generic email column"),
    ),
    (
        "devices",
        flat_schema("gaid", "country_code"),
        DetectedSegment(
            "USER", {"googleAid": "gaid", "country": "country_code"},
            "generic Google advertising id column",
        ),
    ),
    (
        "firms",
        flat_schema("company_name", "domain"),
        DetectedSegment(
            "COMPANY", {"companyName": "company_name", "companyWebsiteDomain": "domain"},
            "generic company columns",
        ),
    ),
    (
        "sites",
        flat_schema("website"),
        DetectedSegment("COMPANY", {"companyWebsiteDomain": "website"}, "generic company columns"),
    ),
]


@pytest.mark.parametrize(
    ("stream_name", "schema", "expected"), DETECTION_CASES, ids=[case[0] for case in DETECTION_CASES]
)
def test_detect_segment(stream_name, schema, expected):
    assert detect_segment(stream_name, schema) == expected


def test_detect_singer_io_hubspot_contacts():
    schema = nested_schema("email", "firstname", property_schema=HUBSPOT_VALUE)
    schema["properties"]["property_email"] = HUBSPOT_VALUE
    schema["properties"]["property_firstname"] = HUBSPOT_VALUE

    detected = detect_segment("contacts", schema)

    assert detected == DetectedSegment(
        "USER", {"email": "property_email", "firstName": "property_firstname"}, "HubSpot contacts"
    )


def test_detect_flattened_hubspot_contacts():
    schema = flat_schema("id", "properties__email", "properties__lastname")

    detected = detect_segment("contacts", schema)

    assert detected.fields == {"email": "properties__email", "lastName": "properties__lastname"}
    assert detected.source == "HubSpot contacts"


def test_detect_email_beats_company_columns():
    detected = detect_segment("people", flat_schema("name", "email", "website", "company"))

    assert detected.segment_type == "USER"
    assert detected.fields == {"email": "email", "company": "company"}


def test_detect_bare_name_needs_company_context():
    assert detect_segment("owners", flat_schema("id", "name", "createdAt")) is None
    assert detect_segment("accounts", flat_schema("id", "name")).fields == {"companyName": "name"}


def test_detect_salesforce_contact_without_email():
    assert detect_segment("Contact", flat_schema("Id", "Name", "FirstName", "Title")) is None


@pytest.mark.parametrize(
    "schema",
    [
        {},
        {"type": "object"},
        {"type": "object", "properties": None},
        {"type": "object", "properties": {}},
        flat_schema("id", "amount", "created_at"),
        flat_schema("email", property_schema={"type": "array", "items": STRING}),
        flat_schema("email", property_schema={"type": "object", "properties": {"a": STRING}}),
        flat_schema("email", property_schema={"type": "boolean"}),
    ],
)
def test_detect_nothing_usable(schema):
    assert detect_segment("orders", schema) is None


def test_detect_any_of_string():
    schema = flat_schema("email", property_schema={"anyOf": [{"type": "string"}, {"type": "null"}]})

    assert detect_segment("people", schema).fields == {"email": "email"}


def test_detect_industries_array():
    schema = flat_schema("name", "domain")
    schema["properties"]["industries"] = {"type": "array", "items": STRING}

    assert detect_segment("companies", schema).fields["industries"] == "industries"


def test_detect_top_level_wins_over_nested():
    schema = nested_schema("email")
    schema["properties"]["email"] = STRING

    assert detect_segment("contacts", schema).fields == {"email": "email"}


@pytest.mark.parametrize(
    ("name", "normalised"),
    [("First Name", "firstname"), ("first_name", "firstname"), ("firstName", "firstname"),
     ("Account.Name", "accountname"), ("E-mail", "email")],
)
def test_normalize_property_name(name, normalised):
    assert normalize_property_name(name) == normalised


@pytest.mark.parametrize(
    ("stream_name", "schema", "expected"), DETECTION_CASES, ids=[case[0] for case in DETECTION_CASES]
)
def test_detected_fields_build_mapper(stream_name, schema, expected):
    mapper = MemberMapper(expected.segment_type, detect_segment(stream_name, schema).fields)

    assert mapper.segment_type == expected.segment_type


def test_detected_hubspot_contact_maps_record():
    detected = detect_segment("contacts", nested_schema("email", "firstname", "country"))
    mapper = MemberMapper(detected.segment_type, detected.fields)

    member = mapper.map({"id": "1", "properties": {"email": "A@B.com", "firstname": "Ana", "country": "Chile"}})

    assert isinstance(member, MappedMember)
    assert member.element["firstName"] == "Ana"
    assert member.element["country"] == "CL"


def test_detection_hint_names_properties():
    assert "email" in DETECTION_HINT
    assert "website" in DETECTION_HINT


def test_detected_segment_describe():
    detected = DetectedSegment("USER", {"email": "Email", "firstName": "FirstName"}, "Salesforce Contact")

    assert detected.describe() == "USER from Salesforce Contact: email=Email, firstName=FirstName"
