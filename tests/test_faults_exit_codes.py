"""The exit codes the fault tests assert are distinct and listed in the README's table."""

from __future__ import annotations

import re
import signal

from target_linkedin_audiences import errors
from tests.target_helpers import REPO


def readme_exit_codes() -> dict[str, str]:
    """Return the README's exit code table as {code: meaning}."""
    text = (REPO / "README.md").read_text()
    table = text.split("| exit code | meaning |", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| ([^|]+?) \| ([^|]+?) \|$", table, flags=re.MULTILINE)
    return {code: meaning for code, meaning in rows if code != "---"}


def test_exit_codes_distinct():
    codes = {name: value for name, value in vars(errors).items() if name.startswith("EXIT_")}
    assert len(set(codes.values())) == len(codes), codes
    assert 128 + signal.SIGTERM not in codes.values()


def test_exit_codes_documented():
    documented = readme_exit_codes()
    for name in ("EXIT_FAILED", "EXIT_CONFIG", "EXIT_AUTH", "EXIT_API", "EXIT_INPUT"):
        assert str(getattr(errors, name)) in documented, f"{name} is not in the README's exit code table"
    assert "143 for SIGTERM" in documented["128 + N"]
