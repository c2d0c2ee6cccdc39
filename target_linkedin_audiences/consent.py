"""The OAuth 2.0 consent flow on a loopback redirect, for a person at a terminal.

The flow builds LinkedIn's authorization URL with an unguessable single-use `state`, listens on
`http://127.0.0.1:PORT/callback`, checks the `state` of the redirect, exchanges the code and
sends the browser a plain success or failure page. Any failure stores nothing.
"""

from __future__ import annotations

import dataclasses
import hmac
import html
import logging
import queue
import secrets
import threading
import time
import typing as t
import webbrowser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from target_linkedin_audiences.errors import EXIT_AUTH, LinkedInError, TargetError

if t.TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from target_linkedin_audiences.auth import OAuthClient, TokenSet

logger = logging.getLogger(__name__)

CALLBACK_PATH = "/callback"
DEFAULT_LOGIN_TIMEOUT_SECONDS = 300
# A browser that stops reading is cut off after this long, so it cannot hold the flow.
_PAGE_WRITE_TIMEOUT_SECONDS = 30
_OAUTH_PARAMETERS = ("code", "state", "error")


class LoginError(TargetError):
    """The consent flow failed: cancelled, state mismatch, wrong redirect, timeout or rejected code."""

    exit_code = EXIT_AUTH


@dataclasses.dataclass
class LoginResult:
    """Tokens of a completed consent flow and the redirect URI it used."""

    tokens: TokenSet
    redirect_uri: str


def build_authorization_url(
    oauth_base_url: str,
    client_id: str,
    redirect_uri: str,
    scopes: Sequence[str],
    state: str,
) -> str:
    """Build LinkedIn's `GET /oauth/v2/authorization` URL for the authorization-code flow.

    LinkedIn takes the scopes space-delimited and URL-encoded, so spaces become `%20`.
    """
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": " ".join(scopes),
        },
        quote_via=quote,
    )
    return f"{oauth_base_url.rstrip('/')}/oauth/v2/authorization?{query}"


@dataclasses.dataclass
class _Callback:
    """One browser request to the loopback server; its response waits until the flow sets the page."""

    path: str
    params: dict[str, str]
    status: int = 500
    page: str = ""
    decided: threading.Event = dataclasses.field(default_factory=threading.Event)
    sent: threading.Event = dataclasses.field(default_factory=threading.Event)


class _CallbackServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _CallbackHandler)
        self.callbacks: queue.Queue[_Callback] = queue.Queue()


class _CallbackHandler(BaseHTTPRequestHandler):
    server: _CallbackServer
    # Browsers open spare connections that never send a request, so idle ones are closed after 10 s.
    timeout = 10

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        parts = urlsplit(self.path)
        params = {name: values[0] for name, values in parse_qs(parts.query, keep_blank_values=True).items()}
        callback = _Callback(path=parts.path, params=params)
        self.server.callbacks.put(callback)
        if not callback.decided.wait(_PAGE_WRITE_TIMEOUT_SECONDS):
            callback.status, callback.page = 503, _page("Sign-in failed", "The sign-in command stopped waiting.")
        body = callback.page.encode("utf-8")
        try:
            self.send_response(callback.status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Referrer-Policy", "no-referrer")
            self.end_headers()
            self.wfile.write(body)
        finally:
            callback.sent.set()

    def log_message(self, format: str, *args: t.Any) -> None:  # noqa: A002 - http.server's signature
        # The request line carries the authorization code, so it is never logged.
        pass


def run_loopback_login(
    oauth: OAuthClient,
    *,
    scopes: Sequence[str],
    host: str = "127.0.0.1",
    port: int = 0,
    timeout_seconds: float = DEFAULT_LOGIN_TIMEOUT_SECONDS,
    open_browser: bool = True,
    show_url: Callable[[str], None] = print,
    on_tokens: Callable[[TokenSet], None] | None = None,
) -> LoginResult:
    """Run the consent flow and return the new tokens.

    `on_tokens` runs before the browser gets the success page, so the tokens are stored before
    anything uses them. If it raises, the flow fails.

    Raises:
        LoginError: the member cancelled, the `state` did not match, the redirect was wrong,
            no redirect arrived within `timeout_seconds`, or LinkedIn rejected the code.
    """
    try:
        server = _CallbackServer((host, port))
    except OSError as exc:
        msg = f"could not listen on {host}:{port} for the OAuth redirect ({exc.strerror}); pick another port"
        raise LoginError(msg) from None

    # NOTE: LinkedIn's docs ask for HTTPS redirect URLs and show http loopback only for native
    # apps; whether a web app may register http://127.0.0.1:PORT/callback is unconfirmed.
    redirect_uri = f"http://{host}:{server.server_port}{CALLBACK_PATH}"
    state = secrets.token_urlsafe(32)
    url = build_authorization_url(oauth.oauth_base_url, oauth.client_id, redirect_uri, scopes, state)
    thread = threading.Thread(target=server.serve_forever, name="oauth-redirect", daemon=True)
    thread.start()
    logger.info("Waiting up to %.0f s for the OAuth redirect to %s", timeout_seconds, redirect_uri)

    try:
        show_url(url)
        if open_browser and not _open_browser(url):
            logger.warning("Could not open a browser; open the URL above yourself")
        tokens = _wait_for_redirect(server, oauth, state, redirect_uri, timeout_seconds, on_tokens)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    return LoginResult(tokens=tokens, redirect_uri=redirect_uri)


def _open_browser(url: str) -> bool:
    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False


def _wait_for_redirect(
    server: _CallbackServer,
    oauth: OAuthClient,
    state: str,
    redirect_uri: str,
    timeout_seconds: float,
    on_tokens: Callable[[TokenSet], None] | None,
) -> TokenSet:
    deadline = time.monotonic() + timeout_seconds
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            msg = (
                f"no OAuth redirect arrived within {timeout_seconds:.0f} s; nothing was stored. If LinkedIn "
                f"showed a redirect_uri error, register {redirect_uri} on the app's Auth tab and run "
                "`linkedin-audiences auth login` again"
            )
            raise LoginError(msg)
        try:
            callback = server.callbacks.get(timeout=min(remaining, 0.5))
        except queue.Empty:
            continue

        try:
            tokens = _handle_callback(callback, oauth, state, redirect_uri, on_tokens)
        except LoginError as exc:
            reason = str(exc)
            _answer(callback, 400, _page("Sign-in failed", f"{reason[:1].upper()}{reason[1:]}. You can close this tab."))
            raise
        if tokens is None:
            continue
        _answer(callback, 200, _page("Signed in", "The tokens are stored. You can close this tab."))
        return tokens


def _answer(callback: _Callback, status: int, page: str) -> None:
    callback.status, callback.page = status, page
    callback.decided.set()
    callback.sent.wait(_PAGE_WRITE_TIMEOUT_SECONDS)


def _handle_callback(
    callback: _Callback,
    oauth: OAuthClient,
    state: str,
    redirect_uri: str,
    on_tokens: Callable[[TokenSet], None] | None,
) -> TokenSet | None:
    """Check one redirect and exchange its code; return None for an unrelated request."""
    params = callback.params
    carries_oauth = any(name in params for name in _OAUTH_PARAMETERS)
    if callback.path != CALLBACK_PATH:
        if not carries_oauth:
            # favicon.ico and the like get a 404, and the flow keeps waiting for the redirect.
            _answer(callback, 404, _page("Not found", "This is the sign-in redirect listener."))
            return None
        msg = f"the OAuth redirect arrived at {callback.path}, not at {CALLBACK_PATH}; nothing was stored"
        raise LoginError(msg)

    received_state = params.get("state", "")
    if not received_state or not hmac.compare_digest(received_state, state):
        msg = (
            "the OAuth redirect carried a state that does not match this sign-in, so it may be forged or "
            "from an older attempt; nothing was stored. Run `linkedin-audiences auth login` again"
        )
        raise LoginError(msg)

    error = params.get("error")
    if error:
        if error.startswith("user_cancelled"):
            msg = f"sign-in was cancelled in the browser ({error}); nothing was stored"
        else:
            description = params.get("error_description", "")
            msg = f"LinkedIn refused the authorization ({error}: {description}); nothing was stored"
        raise LoginError(msg)

    code = params.get("code")
    if not code:
        raise LoginError("the OAuth redirect carried no authorization code; nothing was stored")

    try:
        tokens = oauth.exchange_code(code, redirect_uri)
    except LinkedInError as exc:
        raise LoginError(f"exchanging the authorization code failed: {exc}; nothing was stored") from None
    if on_tokens is not None:
        try:
            on_tokens(tokens)
        except TargetError as exc:
            raise LoginError(f"the tokens could not be stored: {exc}") from None
    return tokens


def _page(title: str, message: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}: linkedin-audiences</title></head>\n"
        f"<body><main><h1 id=\"result\">{html.escape(title)}</h1>"
        f"<p id=\"message\">{html.escape(message)}</p></main></body></html>\n"
    )
