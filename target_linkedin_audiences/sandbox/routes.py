"""The sandbox's URL map: every endpoint with its Rest.li method, scopes and area."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from target_linkedin_audiences.sandbox import accounts, control, oauth, segments, streaming, uploads

PROFILE_SCOPES = ("r_basicprofile", "r_liteprofile")
ADS_READ_SCOPES = ("r_ads", "rw_ads")
DMP_SCOPES = ("rw_dmp_segments",)
LIST_UPLOAD_SCOPES = ("rw_dmp_segments", "rw_ads")
READ_METHODS = ("GET", "FINDER", "GET_ALL", "BATCH_GET")


@dataclass(frozen=True)
class Route:
    """The checks an endpoint gets before its handler runs.

    `area` is `rest` (token, LinkedIn-Version and Rest.li headers), `v2` and `media` (token
    only), `oauth` (no token) or `control` (loopback only, not logged).
    """

    handler: Callable[..., Response]
    area: str
    restli_methods: tuple[str, ...] = ()
    restli_required: bool = False
    scopes: tuple[str, ...] = ()
    resource: str = ""


ROUTES: list[tuple[str, str, Route]] = [
    ("GET", "/oauth/v2/authorization", Route(oauth.show_consent, "oauth")),
    ("POST", "/oauth/v2/authorization", Route(oauth.decide_consent, "oauth")),
    ("POST", "/oauth/v2/accessToken", Route(oauth.exchange_token, "oauth")),
    ("POST", "/oauth/v2/introspectToken", Route(oauth.introspect_token, "oauth")),
    ("GET", "/v2/me", Route(accounts.get_me, "v2", scopes=PROFILE_SCOPES, resource="GET /me")),
    ("GET", "/rest/me", Route(accounts.get_me, "rest", READ_METHODS, scopes=PROFILE_SCOPES, resource="GET /me")),
    ("GET", "/rest/adAccountUsers", Route(
        accounts.find_account_users, "rest", READ_METHODS, scopes=ADS_READ_SCOPES, resource="FINDER /adAccountUsers")),
    ("GET", "/rest/adAccounts", Route(
        accounts.search_accounts, "rest", READ_METHODS, scopes=ADS_READ_SCOPES, resource="FINDER /adAccounts")),
    ("POST", "/rest/dmpSegments", Route(
        segments.create_segment, "rest", ("CREATE",), scopes=DMP_SCOPES, resource="CREATE /dmpSegments")),
    ("GET", "/rest/dmpSegments", Route(
        segments.find_segments, "rest", READ_METHODS, scopes=DMP_SCOPES, resource="FINDER /dmpSegments")),
    ("GET", "/rest/dmpSegments/<segment_id>", Route(
        segments.get_segment, "rest", READ_METHODS, scopes=DMP_SCOPES, resource="GET /dmpSegments")),
    ("POST", "/rest/dmpSegments/<segment_id>", Route(
        segments.update_segment, "rest", ("PARTIAL_UPDATE",), restli_required=True, scopes=DMP_SCOPES,
        resource="PARTIAL_UPDATE /dmpSegments")),
    ("DELETE", "/rest/dmpSegments/<segment_id>", Route(
        segments.delete_segment, "rest", ("DELETE",), scopes=DMP_SCOPES, resource="DELETE /dmpSegments")),
    ("POST", "/rest/dmpSegments/<segment_id>/users", Route(
        streaming.stream_users, "rest", ("BATCH_CREATE",), restli_required=True, scopes=DMP_SCOPES,
        resource="BATCH_CREATE /dmpSegments/users")),
    ("POST", "/rest/dmpSegments/<segment_id>/companies", Route(
        streaming.stream_companies, "rest", ("BATCH_CREATE",), restli_required=True, scopes=DMP_SCOPES,
        resource="BATCH_CREATE /dmpSegments/companies")),
    ("POST", "/rest/dmpSegments/<segment_id>/listUploads", Route(
        uploads.attach_list_upload, "rest", ("CREATE", "ACTION"), scopes=LIST_UPLOAD_SCOPES,
        resource="CREATE /dmpSegments/listUploads")),
    ("POST", "/media/upload", Route(uploads.upload_media, "media", scopes=LIST_UPLOAD_SCOPES, resource="POST /media")),
    ("GET", "/_sandbox/clock", Route(control.get_clock, "control")),
    ("POST", "/_sandbox/clock", Route(control.advance_clock, "control")),
    ("GET", "/_sandbox/faults", Route(control.list_faults, "control")),
    ("POST", "/_sandbox/faults", Route(control.add_fault, "control")),
    ("DELETE", "/_sandbox/faults", Route(control.clear_faults, "control")),
    ("POST", "/_sandbox/tokens/expire", Route(control.expire_token, "control")),
    ("POST", "/_sandbox/tokens/revoke", Route(control.revoke_token, "control")),
    ("GET", "/_sandbox/segments/<segment_id>/members", Route(control.segment_members, "control")),
    ("POST", "/_sandbox/segments/<segment_id>/status", Route(control.set_segment_status, "control")),
    ("GET", "/_sandbox/requests", Route(control.list_requests, "control")),
    ("POST", "/_sandbox/reset", Route(control.reset, "control")),
]


def build_url_map() -> tuple[Map, dict[str, Route]]:
    """Return the Werkzeug map, whose endpoints are keys of the returned route table."""
    rules = []
    table: dict[str, Route] = {}
    for method, path, route in ROUTES:
        key = f"{method} {path}"
        rules.append(Rule(path, endpoint=key, methods=[method]))
        table[key] = route
    return Map(rules, strict_slashes=False, merge_slashes=False), table
