"""A local emulator of LinkedIn's Matched Audiences API, OAuth included, for demos, tests and CI.

Product code talks to it over HTTP only; this package is imported just by the code that starts
it (`linkedin-audiences sandbox serve` and the embedded mode). See docs/sandbox.md.
"""

from target_linkedin_audiences.sandbox.accounts import DEMO_ACCOUNTS, DEMO_MEMBER_URN, AdAccount
from target_linkedin_audiences.sandbox.server import SandboxServer, issue_token_offline
from target_linkedin_audiences.sandbox.settings import (
    APP_NAME,
    CLIENT_ID,
    CLIENT_SECRET,
    LIST_UPLOAD_PLATFORM,
    SOURCE_PLATFORM,
    SandboxSettings,
)

__all__ = [
    "APP_NAME",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "DEMO_ACCOUNTS",
    "DEMO_MEMBER_URN",
    "LIST_UPLOAD_PLATFORM",
    "SOURCE_PLATFORM",
    "AdAccount",
    "SandboxServer",
    "SandboxSettings",
    "issue_token_offline",
]
