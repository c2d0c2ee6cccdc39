"""The `api` fixture: a requests session for the demo member, on a freshly reset sandbox."""

from __future__ import annotations

import pytest
from sandbox_helpers import Api

from target_linkedin_audiences.sandbox import SandboxServer


@pytest.fixture
def api(sandbox: SandboxServer, sandbox_token: dict) -> Api:
    return Api(sandbox, sandbox_token["access_token"])
