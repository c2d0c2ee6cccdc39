"""Open the one API connection of a process from configuration, for the target and the CLI.

With `sandbox: true` this starts the embedded sandbox on a free loopback port and points the API
and OAuth base URLs at it. Nothing switches the sandbox on implicitly.
"""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
import typing as t
from pathlib import Path

from target_linkedin_audiences.auth import OAuthClient, TokenManager, TokenSet
from target_linkedin_audiences.client import (
    DEFAULT_API_BASE_URL,
    DEFAULT_API_VERSION,
    DEFAULT_OAUTH_BASE_URL,
    LinkedInClient,
    account_urn,
)
from target_linkedin_audiences.errors import ConfigError
from target_linkedin_audiences.token_store import (
    TokenStore,
    config_tokens_fingerprint,
    resolve_token_store_path,
    select_tokens,
)

logger = logging.getLogger(__name__)

SANDBOX_SOURCE_PLATFORM = "SANDBOX"
DEFAULT_SANDBOX_DB_PATH = ".linkedin-sandbox/sandbox.db"


@dataclasses.dataclass
class Connection:
    """API client, tokens and settings resolved for one process."""

    client: LinkedInClient | None
    tokens: TokenManager | None
    oauth: OAuthClient | None
    api_base_url: str
    oauth_base_url: str
    client_id: str | None
    source_platform: str | None
    account_urn: str | None
    sandbox: t.Any = None
    token_store: TokenStore | None = None
    # Where the tokens came from: "store", "config", "sandbox" or "none".
    token_source: str = "none"

    def begin_close(self) -> None:
        """Begin shutting down the embedded sandbox, so it stops while the caller finishes other work."""
        if isinstance(self.sandbox, ChildProcessSandbox):
            self.sandbox.begin_stop()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None


class ChildProcessSandbox:
    """The embedded sandbox, served by a child Python process on a free loopback port.

    In a thread of this process the sandbox's per-element work (validation, SQLite, the request
    log) would share the GIL with the target's reading and mapping. In a child process it runs
    on another core. The child stops when `stop()` closes its stdin, or when this process dies.
    """

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path)
        self._process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> ChildProcessSandbox:
        """Start the child and wait for the URL it serves on; return self."""
        command = [sys.executable, "-c", CHILD_SANDBOX_COMMAND, str(self.db_path)]
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        # The only product import of the sandbox, the code that starts it, runs while the child
        # starts up.
        from target_linkedin_audiences import sandbox

        self.client_id = sandbox.CLIENT_ID
        self.client_secret = sandbox.CLIENT_SECRET
        self.default_account_id = sandbox.SandboxServer.default_account_id
        self._settings = sandbox.SandboxSettings()
        assert self._process.stdout is not None
        url = self._process.stdout.readline().decode("ascii", "replace").strip()
        if not url.startswith("http://"):
            self.stop()
            msg = f"the embedded sandbox did not start (database {self.db_path}); see the errors above"
            raise ConfigError(msg)
        self.url = url
        return self

    def issue_token(self) -> dict:
        """Write a token pair for the demo member into the sandbox database and return it."""
        from target_linkedin_audiences.sandbox import issue_token_offline

        return issue_token_offline(
            self.db_path, self._settings.access_token_ttl_seconds, self._settings.refresh_token_ttl_seconds
        )

    def begin_stop(self) -> None:
        """Close the child's stdin, so it stops serving and closes its database, without waiting."""
        if self._process is not None and self._process.stdin is not None:
            self._process.stdin.close()

    def stop(self) -> None:
        """Stop the child and wait for it; safe to call twice."""
        self.begin_stop()
        process, self._process = self._process, None
        if process is None:
            return
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            logger.warning("The embedded sandbox did not stop within 10 s; killing it")
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


CHILD_SANDBOX_COMMAND = (
    "import sys; from target_linkedin_audiences.sandbox.embedded import serve_embedded_sandbox; "
    "serve_embedded_sandbox(sys.argv[1])"
)


def resolve_account_urn(value: t.Any) -> str:
    try:
        return account_urn(value)
    except ValueError as exc:
        raise ConfigError(f"invalid ad_account_id: {exc}") from None


def _token_store_path(config: t.Mapping[str, t.Any]) -> Path:
    """Return the token store path; sandbox tokens live beside the sandbox database instead."""
    if config.get("sandbox") and not config.get("token_store_path"):
        sandbox_db = Path(str(config.get("sandbox_db_path") or DEFAULT_SANDBOX_DB_PATH)).expanduser()
        return sandbox_db.resolve().parent / "tokens.json"
    return resolve_token_store_path(config)


def open_connection(config: t.Mapping[str, t.Any], *, require_token: bool = True) -> Connection:
    """Resolve base URLs, credentials and tokens from `config` and build the API client.

    Raises:
        ConfigError: a required setting is missing or invalid.
    """
    api_base_url = config.get("api_base_url") or DEFAULT_API_BASE_URL
    oauth_base_url = config.get("oauth_base_url") or DEFAULT_OAUTH_BASE_URL
    client_id = config.get("client_id")
    client_secret = config.get("client_secret")
    access_token = config.get("access_token")
    refresh_token = config.get("refresh_token")
    source_platform = config.get("source_platform")
    account = config.get("ad_account_id")
    sandbox = None

    if config.get("sandbox"):
        sandbox = ChildProcessSandbox(config.get("sandbox_db_path") or DEFAULT_SANDBOX_DB_PATH)
        sandbox.start()
        api_base_url = oauth_base_url = sandbox.url
        client_id = client_id or sandbox.client_id
        client_secret = client_secret or sandbox.client_secret
        source_platform = source_platform or SANDBOX_SOURCE_PLATFORM
        account = account if account is not None else sandbox.default_account_id
        logger.info("Embedded sandbox at %s", api_base_url)

    try:
        oauth = None
        if client_id and client_secret:
            oauth = OAuthClient(oauth_base_url, client_id, client_secret)

        token_store = TokenStore(_token_store_path(config))
        config_tokens = TokenSet(access_token=access_token, refresh_token=refresh_token) if access_token else None
        token_set, token_source = select_tokens(config_tokens, token_store.load())
        if token_set is None and sandbox is not None and require_token:
            token_set, token_source = TokenSet.from_token_response(sandbox.issue_token()), "sandbox"
        fingerprint = config_tokens_fingerprint(access_token, refresh_token)

        def save_refreshed_tokens(new_tokens: TokenSet) -> None:
            token_store.save(new_tokens, config_tokens_sha256=fingerprint)

        tokens = None
        client = None
        if token_set is not None:
            tokens = TokenManager(token_set, oauth, on_refresh=save_refreshed_tokens)
            logger.info("Using the OAuth tokens from the %s (token store %s)", token_source, token_store.path)
        elif require_token:
            msg = "access_token is required; run `linkedin-audiences auth login` to get one"
            raise ConfigError(msg)
        if tokens is not None:
            client = LinkedInClient(
                tokens=tokens,
                api_base_url=api_base_url,
                api_version=str(config.get("api_version") or DEFAULT_API_VERSION),
                timeout_seconds=float(config.get("request_timeout_seconds") or 60),
                max_attempts=int(config.get("max_retry_attempts") or 8),
                max_retry_seconds=float(config.get("max_retry_seconds") or 300),
            )

        return Connection(
            client=client,
            tokens=tokens,
            oauth=oauth,
            api_base_url=api_base_url,
            oauth_base_url=oauth_base_url,
            client_id=client_id,
            source_platform=source_platform,
            account_urn=resolve_account_urn(account) if account is not None else None,
            sandbox=sandbox,
            token_store=token_store,
            token_source=token_source,
        )
    except Exception:
        if sandbox is not None:
            sandbox.stop()
        raise
