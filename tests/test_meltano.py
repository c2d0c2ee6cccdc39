"""`meltano run tap-jsonl target-linkedin-audiences` end to end, on the embedded sandbox.

Meltano lives in its own virtualenv (scripts/test.sh makes it and sets MELTANO_BIN). The project
is copied to a temporary folder and the target is installed from this checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from target_linkedin_audiences.sandbox import SandboxServer
from tests.target_helpers import (
    REPO,
    sample_customers,
    sample_organizations,
    sandbox_members,
    segment_by_name,
    sha256_email,
)

pytestmark = [pytest.mark.meltano, pytest.mark.slow]


def meltano_bin() -> str:
    path = os.environ.get("MELTANO_BIN") or str(REPO / ".venv-meltano" / "bin" / "meltano")
    if not Path(path).exists():
        if os.environ.get("CI"):
            pytest.fail(f"meltano not found at {path}; scripts/test.sh installs it")
        pytest.skip("meltano is not installed; run scripts/test.sh")
    return path


@pytest.fixture(scope="module")
def meltano_project(tmp_path_factory) -> Path:
    project = tmp_path_factory.mktemp("meltano-project")
    meltano_yml = (REPO / "meltano.yml").read_text()
    # Install the target from this checkout, not in editable mode, so no build files land in it.
    assert "pip_url: -e ." in meltano_yml
    (project / "meltano.yml").write_text(meltano_yml.replace("pip_url: -e .", f"pip_url: {REPO}"))
    shutil.copytree(REPO / "sample_data", project / "sample_data")

    run_meltano(project, "install")
    return project


def run_meltano(project: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    environment = {**os.environ, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", "NO_COLOR": "1"}
    environment.pop("VIRTUAL_ENV", None)
    process = subprocess.run(
        [meltano_bin(), *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        check=False,
    )
    assert process.returncode == 0, f"meltano {' '.join(args)} failed:\n{process.stdout[-3000:]}\n{process.stderr[-5000:]}"
    return process


def test_meltano_run_fills_both_segments(meltano_project):
    run_meltano(meltano_project, "run", "tap-jsonl", "target-linkedin-audiences")
    run_meltano(meltano_project, "run", "tap-jsonl-accounts", "target-linkedin-audiences")

    db_path = meltano_project / ".meltano" / "linkedin-sandbox" / "sandbox.db"
    assert db_path.exists()
    with SandboxServer(db_path) as sandbox:
        token = sandbox.issue_token()
        contacts = segment_by_name(sandbox, token, "contacts")
        hashes = {m["userIds"][0]["idValue"] for m in sandbox_members(sandbox, contacts["id"])}
        assert hashes == {sha256_email(row["Email"]) for row in sample_customers()}

        accounts = segment_by_name(sandbox, token, "accounts")
        names = {m["companyName"] for m in sandbox_members(sandbox, accounts["id"])}
        assert names == {row["Name"] for row in sample_organizations()}


def test_meltano_keeps_state(meltano_project):
    run_meltano(meltano_project, "run", "tap-jsonl", "target-linkedin-audiences")
    listed = run_meltano(meltano_project, "state", "list")
    assert "tap-jsonl-to-target-linkedin-audiences" in listed.stdout + listed.stderr


def test_meltano_mirror_job_removes_absent(meltano_project):
    run_meltano(meltano_project, "run", "contacts-mirror-sync")
    contacts_file = meltano_project / "sample_data" / "contacts.jsonl"
    lines = contacts_file.read_text().splitlines()
    contacts_file.write_text("\n".join(lines[:-5]) + "\n")
    run_meltano(meltano_project, "run", "contacts-mirror-sync")

    db_path = meltano_project / ".meltano" / "linkedin-sandbox" / "sandbox.db"
    with SandboxServer(db_path) as sandbox:
        token = sandbox.issue_token()
        contacts = segment_by_name(sandbox, token, "contacts")
        hashes = {m["userIds"][0]["idValue"] for m in sandbox_members(sandbox, contacts["id"])}
    assert hashes == {sha256_email(row["Email"]) for row in sample_customers()[:-5]}

    schedules = run_meltano(meltano_project, "schedule", "list")
    assert "contacts-mirror-hourly" in schedules.stdout
