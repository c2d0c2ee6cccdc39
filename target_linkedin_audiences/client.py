"""HTTP client for LinkedIn's versioned Marketing API (`/rest`), shared by the target and the CLI.

It owns the Rest.li headers, query encoding and tunneling, bounded retries with backoff, the
single refresh of an access token that LinkedIn rejects, and the mapping of error responses to the
typed errors in `errors.py`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import typing as t
from urllib.parse import quote

import backoff
import orjson
import requests
from requests.adapters import HTTPAdapter

from target_linkedin_audiences import __version__
from target_linkedin_audiences.errors import (
    InvalidTokenError,
    LinkedInError,
    NotFoundError,
    TokenExpiredError,
    TokenRevokedError,
    TransportError,
    error_from_response,
)

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from target_linkedin_audiences.auth import TokenManager

logger = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://api.linkedin.com"
DEFAULT_OAUTH_BASE_URL = "https://www.linkedin.com"
# The newest LinkedIn-Version listed by LinkedIn's "Recent Marketing API Changes" page (August 2026).
DEFAULT_API_VERSION = "202608"
RESTLI_PROTOCOL_VERSION = "2.0.0"
# LinkedIn returns 414 above 4 KB of query string, so longer queries go in a tunneled POST body.
MAX_QUERY_LENGTH = 4000
# A 65601 (revoked) right after a refresh is sometimes transient, so it is retried a few times.
REVOKED_AFTER_REFRESH_WINDOW_SECONDS = 60.0
REVOKED_AFTER_REFRESH_RETRIES = 3
REVOKED_AFTER_REFRESH_DELAY_SECONDS = 2.0


def encode_value(value: str) -> str:
    """Percent-encode a Rest.li 2.0 query value, structure characters included (`:` -> `%3A`)."""
    return quote(str(value), safe="")


def encode_list(values: Sequence[str]) -> str:
    """Encode a Rest.li 2.0 list query value, such as `List(urn%3Ali%3A...,...)`."""
    return "List(" + ",".join(encode_value(value) for value in values) + ")"


def account_urn(account_id: str | int) -> str:
    """Normalise `123`, `"123"` or `urn:li:sponsoredAccount:123` to the sponsored account URN."""
    text = str(account_id).strip()
    prefix = "urn:li:sponsoredAccount:"
    if text.lower().startswith(prefix.lower()):
        text = text[len(prefix) :]
    if not text.isdigit():
        msg = f"ad account id must be a number or {prefix}N, got {text!r}"
        raise ValueError(msg)
    return prefix + str(int(text))


class _RetryableError(Exception):
    """Wraps a retryable LinkedIn error inside the backoff loop."""

    def __init__(self, error: LinkedInError) -> None:
        super().__init__(str(error))
        self.error = error


class LinkedInClient:
    """One client per process: thread safe, with connection pooling and keep-alive."""

    def __init__(
        self,
        *,
        tokens: TokenManager,
        api_base_url: str = DEFAULT_API_BASE_URL,
        api_version: str = DEFAULT_API_VERSION,
        timeout_seconds: float = 60.0,
        max_attempts: int = 8,
        max_retry_seconds: float = 300.0,
        backoff_base_seconds: float = 1.0,
        backoff_max_seconds: float = 60.0,
        pool_size: int = 16,
        before_request: t.Callable[[str, str], None] | None = None,
    ) -> None:
        """Create the client.

        Args:
            tokens: Source of the access token, refreshed once when LinkedIn rejects it.
            api_base_url: Scheme and host of the API, without `/rest`.
            api_version: The `LinkedIn-Version` header, `YYYYMM`.
            timeout_seconds: Connect and read timeout of one HTTP attempt.
            max_attempts: Attempts of one call, the first included, before a retryable error
                is raised.
            max_retry_seconds: Time budget of one call across all its attempts.
            backoff_base_seconds: First backoff ceiling; it doubles per attempt, with full jitter.
            backoff_max_seconds: Ceiling of one backoff wait.
            pool_size: HTTP connections kept open per host.
            before_request: Called with (method, path) before each attempt, for rate limiting.
        """
        self.api_base_url = api_base_url.rstrip("/")
        self.api_version = api_version
        self.tokens = tokens
        self.timeout_seconds = timeout_seconds
        self.max_attempts = max_attempts
        self.max_retry_seconds = max_retry_seconds
        self.backoff_base_seconds = backoff_base_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.before_request = before_request
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers["User-Agent"] = f"target-linkedin-audiences/{__version__}"
        self._stats_lock = threading.Lock()
        self.request_count = 0
        self.retry_count = 0

    @property
    def session(self) -> requests.Session:
        return self._session

    def close(self) -> None:
        self._session.close()

    # Rest.li methods

    def get(self, path: str, params: Sequence[tuple[str, str]] = (), *, restli_method: str = "GET") -> dict:
        """GET one entity or a finder page and return its JSON body."""
        return self.request("GET", path, params=params, restli_method=restli_method).json()

    def find_all(
        self,
        path: str,
        params: Sequence[tuple[str, str]],
        *,
        page_size: int = 100,
    ) -> Iterator[dict]:
        """Yield every element of a `start`/`count` paged finder, page by page."""
        start = 0
        while True:
            page_params = [*params, ("start", str(start)), ("count", str(page_size))]
            body = self.get(path, page_params, restli_method="FINDER")
            elements = body.get("elements") or []
            yield from elements
            total = (body.get("paging") or {}).get("total")
            start += len(elements)
            if len(elements) < page_size or (isinstance(total, int) and start >= total):
                return

    def create(self, path: str, entity: dict) -> str:
        """CREATE an entity and return its id from `x-restli-id`, `x-linkedin-id` or `Location`."""
        response = self.request("POST", path, json_body=entity, restli_method="CREATE")
        entity_id = response.headers.get("x-restli-id") or response.headers.get("x-linkedin-id")
        if not entity_id and response.headers.get("Location"):
            entity_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
        if not entity_id:
            msg = f"LinkedIn created an entity at {path} but returned no id header"
            raise LinkedInError(msg, status=response.status_code, method="POST", path=path)
        return entity_id

    def batch_create(self, path: str, elements: list[dict], *, retry_not_found_seconds: float = 0.0) -> list[dict]:
        """BATCH_CREATE `elements` and return LinkedIn's per-element results, in input order."""
        response = self.request(
            "POST",
            path,
            json_body={"elements": elements},
            restli_method="BATCH_CREATE",
            retry_not_found_seconds=retry_not_found_seconds,
        )
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            body = response.json()
        results = body.get("elements") if isinstance(body, dict) else None
        if not isinstance(results, list) or len(results) != len(elements):
            msg = (
                f"LinkedIn answered a batch of {len(elements)} elements with "
                f"{len(results) if isinstance(results, list) else 'no'} results"
            )
            raise LinkedInError(msg, status=response.status_code, method="POST", path=path)
        return results

    def partial_update(self, path: str, changes: dict) -> None:
        """PARTIAL_UPDATE the fields in `changes` with a Rest.li `$set` patch."""
        self.request("POST", path, json_body={"patch": {"$set": changes}}, restli_method="PARTIAL_UPDATE")

    def delete(self, path: str) -> None:
        self.request("DELETE", path, restli_method="DELETE")

    # Transport

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        json_body: t.Any = None,
        restli_method: str | None = None,
        versioned: bool = True,
        files: dict | None = None,
        retry_not_found_seconds: float = 0.0,
    ) -> requests.Response:
        """Send one API call with retries and return the successful response.

        Args:
            method: HTTP method.
            path: Path under the API base URL, such as `/rest/dmpSegments`.
            params: Query parameters whose values are already Rest.li encoded.
            json_body: JSON body.
            restli_method: The `X-RestLi-Method` header.
            versioned: Send `LinkedIn-Version` and the Rest.li protocol header (`/rest` paths).
            files: Multipart files, for `/media/upload`.
            retry_not_found_seconds: Also retry 404 for this long, for a DMP segment that
                LinkedIn has created but does not serve yet.

        Raises:
            LinkedInError: the typed error of the last attempt.
        """
        query = "&".join(f"{name}={value}" for name, value in params)
        started = time.monotonic()
        refreshed = False
        revoked_retries = 0

        attempts = 0
        try:
            for attempt in backoff.retry_context(
                _RetryableError,
                self._wait_generator,
                max_tries=self.max_attempts,
                max_time=self.max_retry_seconds,
                jitter=None,
                on_backoff=self._log_backoff,
                logger=None,
                raise_on_giveup=True,
            ):
                with attempt:
                    attempts += 1
                    token = self.tokens.access_token
                    try:
                        return self._send_once(method, path, query, json_body, restli_method, versioned, files, token)
                    except (TokenExpiredError, InvalidTokenError) as exc:
                        if refreshed or not self.tokens.can_refresh:
                            raise
                        logger.warning("LinkedIn rejected the access token (%s); refreshing it once", exc.code or exc.status)
                        self.tokens.refresh(failed_token=token)
                        refreshed = True
                        raise _RetryableError(exc) from None
                    except TokenRevokedError as exc:
                        recently = self.tokens.last_refreshed_at is not None and (
                            time.monotonic() - self.tokens.last_refreshed_at < REVOKED_AFTER_REFRESH_WINDOW_SECONDS
                        )
                        if recently and revoked_retries < REVOKED_AFTER_REFRESH_RETRIES:
                            revoked_retries += 1
                            exc.retry_after = REVOKED_AFTER_REFRESH_DELAY_SECONDS
                            raise _RetryableError(exc) from None
                        if recently or refreshed or not self.tokens.can_refresh:
                            raise
                        # LinkedIn can revoke the access token alone, so one refresh is tried. If the
                        # refresh token is dead too, the refresh fails with a sign-in hint.
                        logger.warning("LinkedIn reports the access token revoked; trying one refresh")
                        self.tokens.refresh(failed_token=token)
                        refreshed = True
                        raise _RetryableError(exc) from None
                    except NotFoundError as exc:
                        if time.monotonic() - started >= retry_not_found_seconds:
                            raise
                        raise _RetryableError(exc) from None
                    except LinkedInError as exc:
                        if exc.retryable:
                            raise _RetryableError(exc) from None
                        raise
        except _RetryableError as wrapped:
            error = wrapped.error
            elapsed = time.monotonic() - started
            error.args = (f"{error.args[0]}; gave up after {attempts} attempts in {elapsed:.1f} s",)
            raise error from None
        msg = "unreachable: retry_context ends by returning or raising"
        raise AssertionError(msg)

    def _send_once(
        self,
        method: str,
        path: str,
        query: str,
        json_body: t.Any,
        restli_method: str | None,
        versioned: bool,
        files: dict | None,
        token: str,
    ) -> requests.Response:
        if self.before_request is not None:
            self.before_request(method, path)

        headers = {"Authorization": f"Bearer {token}"}
        if versioned:
            headers["LinkedIn-Version"] = self.api_version
            headers["X-Restli-Protocol-Version"] = RESTLI_PROTOCOL_VERSION
        if restli_method:
            headers["X-RestLi-Method"] = restli_method

        url = self.api_base_url + path
        data = None
        http_method = method
        if query and len(query) > MAX_QUERY_LENGTH and method == "GET":
            # Rest.li query tunneling: the query moves into a form body of a POST.
            http_method = "POST"
            headers["X-HTTP-Method-Override"] = "GET"
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            data = query
        elif query:
            url = f"{url}?{query}"
        if json_body is not None:
            # orjson serialises a 5,000-member body several times faster than requests' own json=.
            headers["Content-Type"] = "application/json"
            data = orjson.dumps(json_body)

        with self._stats_lock:
            self.request_count += 1
        try:
            response = self._session.request(
                http_method,
                url,
                headers=headers,
                data=data,
                files=files,
                timeout=self.timeout_seconds,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            msg = f"no response from LinkedIn: {type(exc).__name__}"
            raise TransportError(msg, method=method, path=path) from None

        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    def _wait_generator(self) -> t.Generator[float, BaseException | None, None]:
        """Yield backoff waits: the server's `Retry-After` when given, else full-jitter exponential."""
        attempt = 0
        exc = yield 0.0
        while True:
            error = exc.error if isinstance(exc, _RetryableError) else None
            if error is not None and error.retry_after is not None:
                wait = min(error.retry_after, self.backoff_max_seconds)
            elif isinstance(error, (TokenExpiredError, InvalidTokenError)):
                wait = 0.0
            else:
                ceiling = min(self.backoff_max_seconds, self.backoff_base_seconds * 2**attempt)
                wait = random.uniform(ceiling / 2, ceiling)
                attempt += 1
            exc = yield wait

    def _log_backoff(self, details: dict) -> None:
        with self._stats_lock:
            self.retry_count += 1
        exception = details.get("exception")
        error = exception.error if isinstance(exception, _RetryableError) else exception
        if isinstance(error, (TokenExpiredError, InvalidTokenError)):
            return
        logger.warning(
            "Retrying %s %s after %s (attempt %d of %d) in %.1f s",
            getattr(error, "method", "?"),
            getattr(error, "path", "?"),
            _describe(error),
            details["tries"] + 1,
            self.max_attempts,
            details["wait"],
        )


def _describe(error: BaseException | None) -> str:
    if isinstance(error, LinkedInError):
        if error.status:
            return f"HTTP {error.status}" + (f" {error.code}" if error.code else "")
        return str(error).split(" (", 1)[0]
    return type(error).__name__
