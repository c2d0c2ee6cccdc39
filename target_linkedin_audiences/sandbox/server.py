"""Running the sandbox: a threaded Werkzeug server on a loopback port, in a background thread."""

from __future__ import annotations

import errno
import logging
import threading
from pathlib import Path
from types import TracebackType

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from target_linkedin_audiences.sandbox import store, tokens
from target_linkedin_audiences.sandbox.accounts import DEMO_ACCOUNTS, DEMO_MEMBER_URN
from target_linkedin_audiences.sandbox.app import SandboxApp
from target_linkedin_audiences.sandbox.settings import CLIENT_ID, CLIENT_SECRET, SOURCE_PLATFORM, SandboxSettings

logger = logging.getLogger("target_linkedin_audiences.sandbox")
# The serving loop checks for stop() this often, and stop() waits for that check. At 0.1 s it
# added about 0.1 s to the end of each target run on the embedded sandbox.
POLL_SECONDS = 0.02


class _QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without its per-request access log; the app logs requests itself."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class SandboxServer:
    """The LinkedIn API sandbox on `host:port` (port 0 picks a free one), backed by `db_path`.

    Use `start()` and `stop()`, or `with SandboxServer(path) as server:`. `url` is the base URL
    for both `api_base_url` and `oauth_base_url`, without a trailing slash.
    """

    client_id = CLIENT_ID
    client_secret = CLIENT_SECRET
    source_platform = SOURCE_PLATFORM
    member_urn = DEMO_MEMBER_URN
    # The demo member's first account, where it is ACCOUNT_MANAGER: the demo's default.
    default_account_id = DEMO_ACCOUNTS[0].id

    def __init__(
        self,
        db_path: str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        settings: SandboxSettings | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.host = host
        self.port = port
        self.settings = settings or SandboxSettings()
        self._store: store.Store | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("The sandbox server is not running; call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._server.server_port}"

    @property
    def store(self) -> store.Store:
        if self._store is None:
            raise RuntimeError("The sandbox server is not running; call start() first")
        return self._store

    def start(self) -> SandboxServer:
        """Open the database, bind the port and serve in a daemon thread; return self."""
        if self._server is not None:
            raise RuntimeError(f"The sandbox server is already running at {self.url}")
        self._store = store.Store(self.db_path)
        app = SandboxApp(self._store, self.settings)
        try:
            self._server = make_server(
                self.host, self.port, app, threaded=True, request_handler=_QuietRequestHandler
            )
        except SystemExit:
            # Werkzeug prints its own hint and exits when the port is taken; an embedding
            # process must get an exception instead.
            self._store.close()
            self._store = None
            raise OSError(errno.EADDRINUSE, f"port {self.port} on {self.host} is already in use") from None
        except BaseException:
            self._store.close()
            self._store = None
            raise
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, name="linkedin-sandbox", daemon=True
        )
        self._thread.start()
        logger.info("LinkedIn API sandbox listening on %s (database %s)", self.url, self.db_path)
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (used by `sandbox serve`)."""
        # start() is inside the try: a Ctrl-C right after the URL line still stops cleanly.
        try:
            self.start()
            assert self._thread is not None
            while self._thread.is_alive():
                self._thread.join(timeout=0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving and close the database; safe to call twice."""
        if self._server is None:
            return
        url = self.url
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.store.close()
        logger.info("LinkedIn API sandbox on %s stopped", url)
        self._server = None
        self._store = None
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def issue_token(self, access_ttl: int | None = None, refresh_ttl: int | None = None,
                    scope: str | None = None) -> dict:
        """Issue a token pair for the demo member without the consent page, as `sandbox token` does.

        TTLs default to the server's settings; `scope` is space-delimited (default: all the
        scopes the connector needs).
        """
        with self.store.transaction() as db:
            return tokens.issue_tokens(
                db,
                access_ttl if access_ttl is not None else self.settings.access_token_ttl_seconds,
                refresh_ttl if refresh_ttl is not None else self.settings.refresh_token_ttl_seconds,
                scope=scope,
            )

    def advance_clock(self, seconds: float) -> float:
        """Move the simulated clock forward; return the new simulated epoch time."""
        with self.store.transaction() as db:
            return store.advance_clock(db, seconds)

    def reset(self) -> None:
        """Delete all state: tokens, segments, members, faults, the clock offset and the request log."""
        self.store.clear()


def issue_token_offline(
    db_path: str | Path,
    access_ttl: int,
    refresh_ttl: int,
    scope: str | None = None,
) -> dict:
    """Write a token pair for the demo member into a sandbox database, running or not."""
    db = store.Store(db_path)
    try:
        with db.transaction() as connection:
            return tokens.issue_tokens(connection, access_ttl, refresh_ttl, scope=scope)
    finally:
        db.close()
