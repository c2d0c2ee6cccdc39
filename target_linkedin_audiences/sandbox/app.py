"""The sandbox's WSGI application: fault injection, LinkedIn's request checks, dispatch and the request log."""

from __future__ import annotations

import io
import ipaddress
import json
import logging
import re
import socket
import time
import uuid
from typing import Any

from werkzeug.exceptions import ClientDisconnected, MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from target_linkedin_audiences.sandbox import redaction, restli, store, tokens
from target_linkedin_audiences.sandbox.context import Context
from target_linkedin_audiences.sandbox.control import Fault, take_fault
from target_linkedin_audiences.sandbox.errors import ApiError, OAuthError, default_error_body, json_response
from target_linkedin_audiences.sandbox.routes import Route, build_url_map
from target_linkedin_audiences.sandbox.settings import SandboxSettings

logger = logging.getLogger("target_linkedin_audiences.sandbox")

# A 20 MB CSV plus multipart overhead.
MAX_REQUEST_BYTES = 21 * 1024 * 1024
# LinkedIn returns 414 above 4 KB of query string and expects query tunneling instead.
MAX_QUERY_BYTES = 4096
VERSION_FORMAT = re.compile(r"^\d{6}$")


class SandboxApp:
    """A WSGI callable serving the emulated API, OAuth and the control endpoints."""

    def __init__(self, db: store.Store, settings: SandboxSettings) -> None:
        self.store = db
        self.settings = settings
        self.url_map, self.routes = build_url_map()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        started = time.monotonic()
        request = self._tunnel_query(_limited_request(environ))

        if request.path.startswith("/_sandbox/"):
            return self._serve_control(request)(environ, start_response)

        fault = self._take_fault(request)
        if fault is not None and fault.delay_seconds:
            time.sleep(fault.delay_seconds)
        if fault is not None and fault.drop_connection:
            # The log entry needs the body, and it can no longer be read once the socket is shut.
            self._read_body(request)
            self._drop_connection(environ)
            self._log_request(request, None, 0, started)
            # Werkzeug needs a status before it notices the closed socket and gives up quietly.
            return Response(status=500)(environ, start_response)
        if fault is not None and fault.status is not None:
            response = self._fault_response(fault)
            self._log_request(request, None, response.status_code, started)
            return response(environ, start_response)

        response, log_summary = self._serve_api(request)
        response.headers.setdefault("x-li-uuid", str(uuid.uuid4()))
        self._log_request(request, log_summary, response.status_code, started)
        return response(environ, start_response)

    def _tunnel_query(self, request: Request) -> Request:
        """Turn a tunneled query (POST with `X-HTTP-Method-Override: GET`) back into a GET."""
        if request.method != "POST" or request.headers.get("X-HTTP-Method-Override", "").upper() != "GET":
            return request
        try:
            query = request.get_data(as_text=True)
        except RequestEntityTooLarge:
            return request
        environ = dict(request.environ)
        environ["REQUEST_METHOD"] = "GET"
        environ["QUERY_STRING"] = query
        environ["CONTENT_LENGTH"] = "0"
        environ["wsgi.input"] = io.BytesIO()
        return _limited_request(environ)

    def _take_fault(self, request: Request) -> Fault | None:
        with self.store.transaction() as db:
            return take_fault(db, request.method, request.path)

    def _fault_response(self, fault: Fault) -> Response:
        body = fault.body if fault.body is not None else default_error_body(fault.status)
        response = json_response(body, status=fault.status)
        response.headers.update(fault.headers)
        return response

    def _drop_connection(self, environ: dict[str, Any]) -> None:
        # Werkzeug's development server puts the client socket in the environ. Shutting it
        # down makes the client see a closed connection with no response, and the server's
        # own write then fails with BrokenPipeError, which Werkzeug treats as a dropped client.
        connection = environ.get("werkzeug.socket")
        logger.info("Dropping the connection of %s %s as an injected fault", environ["REQUEST_METHOD"],
                    environ.get("PATH_INFO"))
        if connection is not None:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError as error:
                logger.warning("Could not drop the connection: %s", error)

    def _match(self, request: Request) -> tuple[Route, dict[str, str]]:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            key, values = adapter.match()
        except NotFound:
            raise ApiError(404, f"No virtual resource found for {request.path}") from None
        except MethodNotAllowed:
            raise ApiError(405, f"Method {request.method} is not allowed on {request.path}") from None
        return self.routes[key], values

    def _serve_api(self, request: Request) -> tuple[Response, Any]:
        """Check and dispatch one API or OAuth request; return the response and its log summary."""
        try:
            if len(request.environ.get("QUERY_STRING", "")) > MAX_QUERY_BYTES:
                raise ApiError(414, f"The query string is longer than {MAX_QUERY_BYTES} bytes; use query tunneling")
            route, values = self._match(request)
            # Read the body before taking the database lock, so a slow client cannot hold it.
            request.get_data(cache=True)
        except ApiError as error:
            return json_response(error.body(), status=error.status), None
        except RequestEntityTooLarge:
            error = ApiError(413, f"The request body is larger than {MAX_REQUEST_BYTES} bytes")
            return json_response(error.body(), status=413), None

        ctx = None
        try:
            with self.store.transaction() as db:
                ctx = self._context(request, db)
                try:
                    self._check_request(ctx, route)
                    response = route.handler(ctx, **values)
                except ApiError as error:
                    response = json_response(error.body(), status=error.status)
                except OAuthError as error:
                    response = json_response(error.body(), status=error.status)
        except Exception:
            logger.exception("Sandbox handler for %s %s failed", request.method, request.path)
            error = ApiError(500, "Internal error in the LinkedIn API sandbox; see its log")
            response = json_response(error.body(), status=500)

        if route.area == "rest":
            response.headers["X-RestLi-Protocol-Version"] = "2.0.0"
        return response, ctx.log_body if ctx is not None else None

    def _context(self, request: Request, db: Any) -> Context:
        params = restli.split_query(request.environ.get("QUERY_STRING", ""))
        return Context(request=request, db=db, settings=self.settings, params=params, now=store.now(db))

    def _check_request(self, ctx: Context, route: Route) -> None:
        """Apply LinkedIn's checks in order: token, version, Rest.li headers, then scope."""
        if route.area in ("rest", "v2", "media"):
            ctx.caller = tokens.authenticate(ctx.db, ctx.request)
        if route.area == "rest":
            self._check_version(ctx.request)
            self._check_restli_headers(ctx.request, route)
        if route.scopes:
            assert ctx.caller is not None
            tokens.require_scope(ctx.caller, route.scopes, route.resource)

    def _check_version(self, request: Request) -> None:
        version = request.headers.get("LinkedIn-Version", "").strip()
        # NOTE: LinkedIn's status for a missing version header is not documented; 400 is a guess.
        if not version:
            raise ApiError(
                400,
                "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
                code="VERSION_MISSING",
            )
        if not VERSION_FORMAT.match(version) or version not in self.settings.active_versions:
            raise ApiError(426, f"Requested version {version} is not active", code="NONEXISTENT_VERSION")

    def _check_restli_headers(self, request: Request, route: Route) -> None:
        # NOTE: Rest.li servers treat a request without X-Restli-Protocol-Version as protocol
        # 1.0.0. The sandbox rejects it instead, so that clients that forget the header are caught.
        protocol = request.headers.get("X-Restli-Protocol-Version")
        if protocol is None:
            raise ApiError(400, "Missing header X-Restli-Protocol-Version; send 2.0.0", code="MISSING_PROTOCOL_VERSION")
        if protocol.strip() != "2.0.0":
            raise ApiError(
                400, f"Unsupported X-Restli-Protocol-Version {protocol!r}; send 2.0.0", code="INVALID_PROTOCOL_VERSION"
            )

        method = request.headers.get("X-RestLi-Method")
        if method is None:
            if route.restli_required:
                raise ApiError(
                    400,
                    f"Missing header X-RestLi-Method; {request.method} {request.path} needs {route.restli_methods[0]}",
                    code="MISSING_RESTLI_METHOD",
                )
            return
        if method.strip().upper() not in route.restli_methods:
            raise ApiError(
                400,
                f"X-RestLi-Method {method!r} does not match {request.method} {request.path};"
                f" expected {' or '.join(route.restli_methods)}",
                code="INVALID_RESTLI_METHOD",
            )

    def _serve_control(self, request: Request) -> Response:
        if not _is_loopback(request.remote_addr):
            error = ApiError(403, "Sandbox control endpoints accept only loopback clients; call them from 127.0.0.1 or ::1")
            return json_response(error.body(), status=403)
        try:
            route, values = self._match(request)
            request.get_data(cache=True)
            with self.store.transaction() as db:
                ctx = self._context(request, db)
                try:
                    return route.handler(ctx, **values)
                except ApiError as error:
                    return json_response(error.body(), status=error.status)
        except ApiError as error:
            return json_response(error.body(), status=error.status)

    @staticmethod
    def _read_body(request: Request) -> None:
        try:
            request.get_data(cache=True)
        except (RequestEntityTooLarge, ClientDisconnected):
            pass  # _log_request records that the body was not logged

    def _log_request(self, request: Request, summary: Any, status: int, started: float) -> None:
        """Append the request to the log with the privacy rules of redaction.py applied."""
        try:
            body = redaction.redact_body(request.mimetype, request.get_data(cache=True), summary)
        except RequestEntityTooLarge:
            body = "[request body too large, not logged]"
        except ClientDisconnected:
            body = "[client disconnected before its body was read, not logged]"
        entry = [
            request.method,
            request.path,
            redaction.redact_query(request.environ.get("QUERY_STRING", "")),
            json.dumps(redaction.redact_headers(request.headers)),
            _serialize_log_body(body),
            status,
        ]
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO requests (at, method, path, query, headers, body, status) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [store.now(db), *entry],
            )
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.debug("%s %s -> %s in %.0f ms", request.method, request.path, status, elapsed_ms)


def _serialize_log_body(body: Any) -> str | None:
    if body is None:
        return None
    if isinstance(body, redaction.SerializedBody):
        return body.text
    return redaction.dumps(body)


def _limited_request(environ: dict[str, Any]) -> Request:
    request = Request(environ)
    request.max_content_length = MAX_REQUEST_BYTES
    return request


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
