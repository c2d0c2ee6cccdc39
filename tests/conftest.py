"""Shared fixtures: the LinkedIn API sandbox, started in-process on a free loopback port.

- `sandbox_server` (session): one `SandboxServer` with its own temporary database and settings
  for fast tests: no 404 window after segment creation (`segment_ready_delay_seconds=0`), a
  2-second build delay and 5 seconds of UPDATING. Tests that need the 5-second window or other
  settings start their own `SandboxServer` instead of changing this one.
- `sandbox` (function): the session server after `reset()`, so each test starts empty with the
  simulated clock at wall time. Use `sandbox.url` as both `api_base_url` and `oauth_base_url`,
  `sandbox.advance_clock(seconds)` to move time, and `GET {url}/_sandbox/requests` or
  `GET {url}/_sandbox/segments/{id}/members` to see what the sandbox received.
- `sandbox_token` (function): a fresh token pair for the demo member, as printed by
  `linkedin-audiences sandbox token`: `access_token`, `refresh_token`, `expires_in`,
  `refresh_token_expires_in`, `scope`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from target_linkedin_audiences.sandbox import SandboxServer, SandboxSettings

FAST_TEST_SETTINGS = {
    "segment_ready_delay_seconds": 0,
    "build_delay_seconds": 2,
    "updating_seconds": 5,
}


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    db_path = tmp_path_factory.mktemp("sandbox") / "sandbox.db"
    with SandboxServer(db_path, settings=SandboxSettings(**FAST_TEST_SETTINGS)) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    sandbox_server.reset()
    return sandbox_server


@pytest.fixture
def sandbox_token(sandbox: SandboxServer) -> dict:
    return sandbox.issue_token()
