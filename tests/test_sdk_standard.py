"""singer-sdk's standard target tests, each extended to read back what the sandbox received.

The standard test streams carry no email or company columns, so an SDK stream map gives every
record a `companyName` of `Company <md5 of the record>` and each stream goes to a COMPANY
segment. After each test, `validate()` compares the segment's members with the records that the
input file contains and that pass their stream's schema.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import typing as t

import jsonschema
import pytest
from singer_sdk.testing import get_target_test_class
from singer_sdk.testing import target_test_streams
from singer_sdk.testing.suites import SingerTestSuite, target_tests

from target_linkedin_audiences.target import TargetLinkedInAudiences
from tests.target_helpers import sandbox_members, sandbox_requests, segments_of_account, target_config

# Tests whose input makes the target raise before anything is sent.
RAISING_TESTS = {"invalid_schema", "record_before_schema", "record_missing_key_property"}
COMPANY_NAME_EXPRESSION = "'Company ' + md5(str(record))"


def stream_names() -> set[str]:
    names = set()
    for path in importlib.resources.files(target_test_streams).iterdir():
        if path.name.endswith(".singer"):
            for line in path.read_text(encoding="utf-8").splitlines():
                message = json.loads(line)
                if "stream" in message:
                    names.add(message["stream"])
    return names


# The factory keeps a reference to this dict; the `resource` fixture fills in the sandbox.
CONFIG: dict[str, t.Any] = {
    "stream_maps": {name: {"companyName": COMPANY_NAME_EXPRESSION} for name in stream_names()},
    "segments": {name: {"type": "COMPANY", "fields": {"companyName": "companyName"}} for name in stream_names()},
}


def expected_companies(test_name: str) -> dict[str, set[str]]:
    """Company names each stream of a test file should leave in its segment."""
    path = importlib.resources.files(target_test_streams) / f"{test_name}.singer"
    if test_name in RAISING_TESTS or not path.is_file():
        return {}
    schemas: dict[str, dict] = {}
    expected: dict[str, set[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        message = json.loads(line)
        if message["type"] == "SCHEMA":
            schemas[message["stream"]] = message["schema"]
        elif message["type"] == "RECORD":
            record = message["record"]
            if not jsonschema.Draft7Validator(schemas[message["stream"]]).is_valid(record):
                continue
            name = "Company " + hashlib.md5(str(record).encode("utf-8")).hexdigest()  # noqa: S324
            expected.setdefault(message["stream"], set()).add(name)
    return expected


def validate_against_sandbox(self: t.Any) -> None:
    sandbox = self.resource
    token = {"access_token": CONFIG["access_token"]}
    expected = expected_companies(self.name)

    member_posts = [r for r in sandbox_requests(sandbox) if r["path"].endswith(("/users", "/companies"))]
    if not expected:
        assert member_posts == []
        return

    segments = {s["name"]: s for s in segments_of_account(sandbox, token, sandbox.default_account_id)}
    for stream, names in expected.items():
        assert segments[stream]["type"] == "COMPANY"
        members = sandbox_members(sandbox, segments[stream]["id"])
        assert {member["companyName"] for member in members} == names


checked_tests = [
    type(f"Checked{test_class.__name__}", (test_class,), {"validate": validate_against_sandbox})
    for test_class in target_tests.tests
]

StandardTargetTests = get_target_test_class(
    TargetLinkedInAudiences,
    config=CONFIG,
    include_target_tests=False,
    custom_suites=[SingerTestSuite(kind="target", tests=checked_tests)],
)


class TestTargetLinkedInAudiences(StandardTargetTests):  # type: ignore[misc, valid-type]
    @pytest.fixture
    def resource(self, sandbox, sandbox_token, tmp_path):  # noqa: PLR6301
        CONFIG.update(target_config(sandbox, sandbox_token, tmp_path))
        return sandbox
