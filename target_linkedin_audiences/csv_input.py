"""Read a CSV export as a stream of records, each with the line number it starts on.

Lines are read one at a time in binary and decoded one by one, so a decoding error names its
line and byte, and memory stays bounded by the longest line. UTF-8 with or without a BOM is the
default, and a UTF-16 byte order mark switches to UTF-16.
"""

from __future__ import annotations

import codecs
import csv
import io
import typing as t

from target_linkedin_audiences.errors import EXIT_INPUT, TargetError

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

# A longer physical line is not a record of people or companies, so reading stops there.
MAX_LINE_BYTES = 1024 * 1024


class ListFileError(TargetError):
    """A CSV file that cannot become a list upload. The message names the line and column."""

    exit_code = EXIT_INPUT


def _cr_lines(handle: t.BinaryIO) -> Iterator[bytes]:
    """Yield the lines of a file whose lines end in a lone CR, as old Mac exports write them."""
    pending = b""
    while True:
        chunk = handle.read(64 * 1024)
        if not chunk:
            break
        pending += chunk
        *complete, pending = pending.split(b"\r")
        for line in complete:
            yield line + b"\r"
        if len(pending) > MAX_LINE_BYTES:
            # Passed on whole, so the caller reports the overlong line.
            yield pending
            return
    if pending:
        yield pending


def _newline_lines(handle: t.BinaryIO) -> Iterator[bytes]:
    while True:
        line = handle.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        yield line


def _decoded_lines(
    handle: t.BinaryIO,
    encoding: str,
    progress: Callable[[int], None] | None,
) -> Iterator[str]:
    """Yield the file's physical lines as text, with a UTF-8 BOM removed from the first one."""
    decoder_encoding = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    sample = handle.peek(64 * 1024) if hasattr(handle, "peek") else b""
    cr_only = b"\r" in sample and b"\n" not in sample
    number = 0
    for raw in _cr_lines(handle) if cr_only else _newline_lines(handle):
        number += 1
        if progress is not None:
            progress(len(raw))
        if len(raw) > MAX_LINE_BYTES:
            raise ListFileError(
                f"line {number} is longer than {MAX_LINE_BYTES // 1024 // 1024} MB; "
                "the file is not a CSV file of people or companies"
            )
        if b"\x00" in raw:
            raise ListFileError(
                f"line {number} contains NUL bytes; the file may be UTF-16 without a byte order mark "
                "(pass --encoding utf-16) or not a text file"
            )
        try:
            yield raw.decode(decoder_encoding if number == 1 else encoding)
        except UnicodeDecodeError as exc:
            raise ListFileError(
                f"line {number}, byte {exc.start + 1}: not valid {encoding} text; save the file as "
                "UTF-8 (Excel: \"CSV UTF-8\") or pass its encoding, such as --encoding cp1252"
            ) from None


def _utf16_lines(handle: t.BinaryIO, progress: Callable[[int], None] | None) -> Iterator[str]:
    """Yield the lines of a UTF-16 file with a byte order mark, as Excel's "Unicode text" writes."""
    text = io.TextIOWrapper(handle, encoding="utf-16", newline="")
    try:
        for line in text:
            if progress is not None:
                progress(len(line) * 2)
            yield line
    except UnicodeDecodeError:
        raise ListFileError("the file starts with a UTF-16 byte order mark but is not valid UTF-16") from None
    finally:
        text.detach()


def open_lines(
    handle: t.BinaryIO,
    encoding: str | None,
    progress: Callable[[int], None] | None,
) -> Iterator[str]:
    """Return the file's lines as text in `encoding`, or in UTF-8 or UTF-16 (by its BOM) for None.

    `progress` is called with the number of bytes of each line read; for UTF-16 the count is an
    estimate of two bytes per character.
    """
    if encoding is None:
        start = handle.peek(2)[:2] if hasattr(handle, "peek") else b""
        if start in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            return _utf16_lines(handle, progress)
        encoding = "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ListFileError(f"unknown encoding {encoding!r}; use a Python codec name such as utf-8 or cp1252") from None
    return _decoded_lines(handle, encoding, progress)


class LineCounter:
    """Pass lines on to the csv reader, remembering the number and text of the last one."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self.number = 0
        self.text = ""

    def __iter__(self) -> Iterator[str]:
        for text in self._lines:
            self.number += 1
            self.text = text
            yield text


def read_records(reader: t.Any, lines: LineCounter) -> Iterator[tuple[int, list[str]]]:
    """Yield `(first line number, values)` per CSV record; a quoted value can span lines."""
    while True:
        start = lines.number + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ListFileError(
                f"line {start}: not valid CSV ({exc}); check the quotes in the row that starts there"
            ) from None
        yield start, values


def open_source(path: Path) -> t.BinaryIO:
    """Open a CSV export for `write_list_file`, with a clear error when it cannot be read."""
    try:
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    except FileNotFoundError:
        raise ListFileError(f"CSV file not found: {path}") from None
    except IsADirectoryError:
        raise ListFileError(f"{path} is a directory; pass a CSV file") from None
    except PermissionError:
        raise ListFileError(f"cannot read {path}: permission denied") from None
