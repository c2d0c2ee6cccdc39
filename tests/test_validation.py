"""RecordValidator: the type-only rules for flat schemas never accept what the schema rejects."""

from __future__ import annotations

import random

import fastjsonschema
import pytest

from target_linkedin_audiences.validation import RecordValidator

TYPE_NAMES = ("string", "integer", "number", "boolean", "null", "object", "array")
SAMPLE_VALUES = (
    "text", "", "2026-12-04T10:00:00Z", 0, 1, -7, 2**70, 1.5, 2.0, float("nan"), True, False, None,
    {}, {"nested": 1}, [], [1, "a"],
)

FLAT_SCHEMA = {
    "type": "object",
    "properties": {
        "Id": {"type": "string"},
        "Email": {"type": ["string", "null"], "format": "email", "description": "work email"},
        "Employees": {"type": ["integer", "null"]},
        "Score": {"type": "number"},
        "IsDeleted": {"type": ["boolean", "null"]},
        "Tags": {"type": "array"},
        "Extra": {"type": "object"},
    },
    "required": ["Id"],
}


def random_schema(rng: random.Random) -> dict:
    properties = {}
    for number in range(rng.randint(1, 6)):
        names = rng.sample(TYPE_NAMES, rng.randint(1, 3))
        properties[f"p{number}"] = {"type": names if len(names) > 1 or rng.random() < 0.5 else names[0]}
    schema = {"type": "object", "properties": properties}
    if rng.random() < 0.5:
        schema["required"] = rng.sample(sorted(properties), rng.randint(0, len(properties)))
    if rng.random() < 0.3:
        schema["additionalProperties"] = rng.random() < 0.5
    return schema


def random_record(rng: random.Random, schema: dict) -> dict:
    names = [*schema["properties"], "other"]
    return {name: rng.choice(SAMPLE_VALUES) for name in names if rng.random() < 0.8}


def test_flat_rules_agree_on_random_records():
    rng = random.Random(20261204)
    checked = valid_records = accepted_by_rules = 0
    for _ in range(400):
        schema = random_schema(rng)
        validator = RecordValidator(schema)
        assert validator._types_by_property is not None  # every random schema is flat
        compiled = fastjsonschema.compile(schema, use_default=False, use_formats=False)
        for _ in range(25):
            record = random_record(rng, schema)
            try:
                compiled(record)
                valid = True
            except fastjsonschema.JsonSchemaValueException:
                valid = False
            valid_records += valid
            if validator._passes_type_rules(record):
                accepted_by_rules += 1
                assert valid, (schema, record)
            validator.validate(record)
            assert (validator.last_error is None) == valid, (schema, record)
            checked += 1
    # The rules must accept nearly every valid record by themselves, or they save nothing.
    assert checked == 10_000
    assert valid_records > 1_000
    assert accepted_by_rules > 0.9 * valid_records, (accepted_by_rules, valid_records)


def test_flat_schema_errors_name_the_property_and_rule():
    validator = RecordValidator(FLAT_SCHEMA)
    validator.validate({"Id": "003", "Employees": True, "Score": 1})
    assert validator.last_error == "Employees fails schema rule 'type'"
    validator.validate({"Email": "a@example.com", "Score": 1})
    assert validator.last_error == "(record) fails schema rule 'required'"
    assert "a@example.com" not in validator.last_error
    validator.validate({"Id": "003", "Score": 2.5, "Tags": ["x"], "Extra": {"any": [1]}, "Unlisted": 1})
    assert validator.last_error is None


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"Id": {"type": "string", "maxLength": 3}}},
        {"type": "object", "properties": {"Id": {"type": "string"}}, "patternProperties": {"^x": {"type": "integer"}}},
        {"type": "object", "properties": {"Id": {"anyOf": [{"type": "string"}, {"type": "null"}]}}},
        {"type": "object", "properties": {"Id": {"type": "object", "properties": {"a": {"type": "integer"}}}}},
        {"type": "object", "properties": {"Id": {"type": "string", "enum": ["a"]}}},
    ],
)
def test_validator_other_keywords_skip_flat_rules(schema):
    validator = RecordValidator(schema)
    assert validator._types_by_property is None
    validator.validate({"Id": "abcd"} if "maxLength" in str(schema) else {"Id": {"a": "no"}})
    assert validator.last_error is not None
