"""CSV list uploads: write the template file, upload it, create or reuse a list segment, attach it.

LinkedIn's flow has four steps:

1. Upload the file to `POST /media/upload?media_type=ad_segments` as the multipart part
   `fileupload`. The response carries a media URN.
2. Create a segment with `sourcePlatform` `LIST_UPLOAD`.
3. Wait at least 5 seconds, because a new segment returns 404 for its first seconds.
4. Attach the file: `POST /rest/dmpSegments/{id}/listUploads` with `{"inputFile": <URN>}`.

Replacing a list attaches a new file to the existing segment.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import tempfile
import time
import typing as t
from pathlib import Path

from target_linkedin_audiences.errors import LinkedInError, NotFoundError, PermissionDeniedError
from target_linkedin_audiences.list_files import (
    MAX_FILE_BYTES,
    ListFileError,
    ListFileReport,
    TooFewRowsError,
    open_source,
    write_list_file,
)
from target_linkedin_audiences.segments import (
    CREATE_TO_WRITE_DELAY_SECONDS,
    NEW_SEGMENT_NOT_FOUND_RETRY_SECONDS,
    SEGMENTS_PATH,
    SegmentRef,
    wait_until_writable,
)

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from target_linkedin_audiences.client import LinkedInClient

logger = logging.getLogger(__name__)

MEDIA_UPLOAD_PATH = "/media/upload"
LIST_UPLOAD_SOURCE_PLATFORM = "LIST_UPLOAD"
# NOTE: LinkedIn documents COMPANY_LIST_UPLOAD only; USER_LIST_UPLOAD is the presumed contact-list
# type, and the one the sandbox accepts.
LIST_SEGMENT_TYPES = {"USER": "USER_LIST_UPLOAD", "COMPANY": "COMPANY_LIST_UPLOAD"}
# Seconds between creating a segment and attaching its file; tests set it to 0.
ATTACH_DELAY_SECONDS = CREATE_TO_WRITE_DELAY_SECONDS
# The file name sent in the multipart part, which reveals nothing about the file's contents.
UPLOAD_FILE_NAME = "list-upload.csv"


@dataclasses.dataclass
class UploadResult:
    """Outcome of an upload or replace: the segment, the uploaded file and the file's report."""

    report: ListFileReport
    segment_id: str | None = None
    segment_type: str | None = None
    segment_name: str | None = None
    account_urn: str | None = None
    media_urn: str | None = None
    created: bool = False
    dry_run_path: Path | None = None

    def as_dict(self) -> dict[str, t.Any]:
        return {
            "segment_id": self.segment_id,
            "segment_type": self.segment_type,
            "segment_name": self.segment_name,
            "account": self.account_urn,
            "created": self.created,
            "media_urn": self.media_urn,
            "dry_run_file": str(self.dry_run_path) if self.dry_run_path else None,
            **self.report.as_dict(),
        }


# Files


@contextlib.contextmanager
def upload_file(output: Path | None) -> Iterator[tuple[t.BinaryIO, Path]]:
    """Open the file the upload is written to, mode 0600: `output`, or a temporary file.

    A temporary file is removed on exit. `output` is created only when it does not exist yet,
    and removed again when writing fails, so no half-written list is left behind.
    """
    if output is None:
        descriptor, name = tempfile.mkstemp(prefix="linkedin-list-", suffix=".csv")
        path = Path(name)
    else:
        path = output
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise ListFileError(f"output file {path} exists; remove it or pass another --output") from None
        except OSError as exc:
            raise ListFileError(f"cannot create output file {path}: {exc.strerror}") from None

    completed = False
    try:
        with os.fdopen(descriptor, "wb") as handle:
            yield handle, path
        completed = True
    finally:
        if output is None or not completed:
            path.unlink(missing_ok=True)


def prepare_list_file(
    csv_path: Path,
    handle: t.BinaryIO,
    kind: str,
    *,
    delimiter: str = ",",
    encoding: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ListFileReport:
    """Write the members of the CSV export at `csv_path` to `handle` in LinkedIn's template."""
    logger.info("Reading %s as a %s list", csv_path, kind)
    with open_source(csv_path) as source:
        return write_list_file(source, handle, kind, delimiter=delimiter, encoding=encoding, progress=progress)


# LinkedIn calls


class ListUploader:
    """Upload list files and create, read and attach list-upload segments through one client."""

    def __init__(self, client: LinkedInClient) -> None:
        self.client = client

    def upload(self, path: Path) -> str:
        """Upload a template CSV file and return its media URN."""
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ListFileError(f"{path} has {size:,} bytes; LinkedIn takes at most 20 MB per list upload")

        # requests builds the whole multipart body in memory anyway. Bytes (at most 20 MB, checked
        # above) also let the client's retries send the file again from its start.
        data = path.read_bytes()
        started = time.monotonic()
        response = self.client.request(
            "POST",
            MEDIA_UPLOAD_PATH,
            params=[("media_type", "ad_segments")],
            files={"fileupload": (UPLOAD_FILE_NAME, data, "text/csv")},
            versioned=False,
        )
        media_urn = media_urn_from(response)
        logger.info("Uploaded a list file of %d bytes as %s in %.0f ms", size, media_urn, (time.monotonic() - started) * 1000)
        return media_urn

    def create_segment(self, account_urn: str, name: str, kind: str, description: str | None = None) -> SegmentRef:
        """Create an empty list-upload segment of `kind` (USER or COMPANY) in the account."""
        segment_type = LIST_SEGMENT_TYPES[kind]
        entity: dict[str, t.Any] = {
            "name": name,
            "account": account_urn,
            "type": segment_type,
            "sourcePlatform": LIST_UPLOAD_SOURCE_PLATFORM,
            "destinations": [{"destination": "LINKEDIN"}],
        }
        if description:
            entity["description"] = description
        segment_id = self.client.create(SEGMENTS_PATH, entity)
        logger.info("Created list-upload segment %s (%s) in %s", segment_id, segment_type, account_urn)
        return SegmentRef(segment_id, name, segment_type, created=True, created_at=time.monotonic())

    def read_list_segment(self, segment_id: str) -> dict:
        """Return a segment, or raise LinkedInError when it is missing or not a list upload."""
        try:
            segment = self.client.get(f"{SEGMENTS_PATH}/{segment_id}")
        except NotFoundError:
            msg = (
                f"DMP segment {segment_id} not found, or the signed-in member cannot see it; "
                "run `linkedin-audiences segments list` to see the account's segments"
            )
            raise NotFoundError(msg) from None
        segment_type = segment.get("type")
        if segment_type not in LIST_SEGMENT_TYPES.values():
            msg = (
                f"DMP segment {segment_id} has type {segment_type}, so it takes members from the target, "
                "not from files; replace works on USER_LIST_UPLOAD and COMPANY_LIST_UPLOAD segments"
            )
            raise ListFileError(msg)
        return segment

    def attach(self, segment: SegmentRef, media_urn: str) -> None:
        """Attach an uploaded file to a list segment, waiting out a new segment's first seconds."""
        wait_until_writable(segment, ATTACH_DELAY_SECONDS)
        self.client.request(
            "POST",
            f"{SEGMENTS_PATH}/{segment.id}/listUploads",
            json_body={"inputFile": media_urn},
            restli_method="CREATE",
            retry_not_found_seconds=NEW_SEGMENT_NOT_FOUND_RETRY_SECONDS if segment.created else 0.0,
        )
        logger.info("Attached %s to list-upload segment %s", media_urn, segment.id)


def media_urn_from(response: t.Any) -> str:
    """Return the media URN of a `/media/upload` response."""
    # NOTE: LinkedIn does not document the field that carries the URN; `location` is what the
    # sandbox returns, and the other names are tried in case LinkedIn's differs.
    try:
        body = response.json()
    except ValueError:
        body = None
    candidates: list[t.Any] = []
    if isinstance(body, dict):
        value = body.get("value") if isinstance(body.get("value"), dict) else {}
        for key in ("location", "mediaUrn", "media", "asset", "urn", "id"):
            candidates.extend([body.get(key), value.get(key)])
    candidates.extend([response.headers.get("x-restli-id"), response.headers.get("Location")])
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.startswith("urn:li:"):
            return candidate
    msg = "LinkedIn accepted the list file but returned no media URN"
    raise LinkedInError(msg, status=response.status_code, method="POST", path=MEDIA_UPLOAD_PATH)


# Commands


def run_upload(
    client: LinkedInClient | None,
    csv_path: Path,
    *,
    kind: str,
    name: str,
    account_urn: str | None,
    description: str | None = None,
    delimiter: str = ",",
    encoding: str | None = None,
    dry_run_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> UploadResult:
    """Create a list-upload segment from a CSV export, or only write its file with a dry run.

    Raises:
        ListFileError: the file is unusable or outside LinkedIn's limits. TooFewRowsError,
            its subclass for a file under 300 rows, carries the report. A dry run returns
            that report instead, and `report.limit_problem()` returns the reason.
        LinkedInError: an API call failed.
    """
    with upload_file(dry_run_path) as (handle, path):
        report = prepare_list_file(csv_path, handle, kind, delimiter=delimiter, encoding=encoding, progress=progress)
        handle.close()
        result = UploadResult(report, segment_name=name, account_urn=account_urn, dry_run_path=dry_run_path)
        if dry_run_path is not None:
            return result
        _check_limits(report)

        assert client is not None and account_urn is not None  # only a dry run goes without them
        uploader = ListUploader(client)
        result.media_urn = uploader.upload(path)
    try:
        segment = uploader.create_segment(account_urn, name, kind, description)
    except PermissionDeniedError as exc:
        exc.args = (
            f"{exc.args[0]}; run `linkedin-audiences accounts list` to see the accounts and roles of the "
            "signed-in member",
        )
        raise
    result.segment_id = segment.id
    result.segment_type = segment.segment_type
    result.created = True
    try:
        uploader.attach(segment, result.media_urn)
    except LinkedInError as exc:
        logger.error("Attaching a file to new list-upload segment %s failed: %s", segment.id, exc)
        exc.args = (
            f"{exc.args[0]}; segment {segment.id} was created without its file, so run "
            f"`linkedin-audiences segments replace {segment.id} --csv {csv_path}` to attach it",
        )
        raise
    return result


def run_replace(
    client: LinkedInClient,
    csv_path: Path,
    segment_id: str,
    *,
    delimiter: str = ",",
    encoding: str | None = None,
    dry_run_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> UploadResult:
    """Attach a new file from a CSV export to an existing list-upload segment, or dry-run it."""
    uploader = ListUploader(client)
    segment = uploader.read_list_segment(segment_id)
    segment_type = segment["type"]
    kind = "USER" if segment_type == LIST_SEGMENT_TYPES["USER"] else "COMPANY"

    with upload_file(dry_run_path) as (handle, path):
        report = prepare_list_file(csv_path, handle, kind, delimiter=delimiter, encoding=encoding, progress=progress)
        handle.close()
        result = UploadResult(
            report,
            segment_id=segment_id,
            segment_type=segment_type,
            segment_name=segment.get("name"),
            account_urn=segment.get("account"),
            dry_run_path=dry_run_path,
        )
        if dry_run_path is not None:
            return result
        _check_limits(report)
        result.media_urn = uploader.upload(path)
    uploader.attach(SegmentRef(segment_id, segment.get("name", ""), segment_type, created=False), result.media_urn)
    return result


def _check_limits(report: ListFileReport) -> None:
    problem = report.limit_problem()
    if problem:
        raise TooFewRowsError(f"{problem}; nothing was uploaded, so add rows to the file and run again", report)
