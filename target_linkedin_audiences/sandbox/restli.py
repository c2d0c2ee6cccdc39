"""Rest.li 2.0 query decoding: `List(a,b)`, `(key:value,...)` and percent-encoded scalars.

Werkzeug's `request.args` percent-decodes values before the structure can be read, which breaks
`search=(status:(values:List(ACTIVE)))` when a value contains an encoded `:` or `,`. So the raw
query string is split here and each value is decoded by its structure.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, unquote_plus

from target_linkedin_audiences.sandbox.errors import ApiError


def split_query(raw_query: str) -> dict[str, str]:
    """Split a raw query string into still-encoded values, keyed by the decoded name."""
    params: dict[str, str] = {}
    for pair in raw_query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        params[unquote_plus(name)] = value
    return params


def decode_scalar(raw: str) -> str:
    return unquote_plus(raw)


def decode(raw: str) -> Any:
    """Decode one Rest.li 2.0 query value into dicts, lists and strings."""
    parser = _Parser(raw)
    value = parser.value()
    if parser.pos != len(raw):
        raise ApiError(400, f"Invalid Rest.li 2.0 query value {raw!r} at position {parser.pos}")
    return value


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def value(self) -> Any:
        if self.text.startswith("List(", self.pos):
            self.pos += len("List(")
            return self._list()
        if self.text.startswith("(", self.pos):
            self.pos += 1
            return self._object()
        return self._scalar()

    def _list(self) -> list[Any]:
        items: list[Any] = []
        if self._take(")"):
            return items
        while True:
            items.append(self.value())
            if self._take(")"):
                return items
            self._expect(",")

    def _object(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if self._take(")"):
            return fields
        while True:
            key = self._scalar()
            self._expect(":")
            fields[key] = self.value()
            if self._take(")"):
                return fields
            self._expect(",")

    def _scalar(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in "(),:":
            self.pos += 1
        return unquote(self.text[start:self.pos])

    def _take(self, char: str) -> bool:
        if self.text.startswith(char, self.pos):
            self.pos += 1
            return True
        return False

    def _expect(self, char: str) -> None:
        if not self._take(char):
            raise ApiError(
                400, f"Invalid Rest.li 2.0 query value {self.text!r}: expected {char!r} at position {self.pos}"
            )


def paging_params(params: dict[str, str], default_count: int = 10, max_count: int = 1000) -> tuple[int, int]:
    """Return `(start, count)` from Rest.li offset paging parameters."""
    try:
        start = int(decode_scalar(params.get("start", "0")))
        count = int(decode_scalar(params.get("count", str(default_count))))
    except ValueError:
        raise ApiError(400, "Paging parameters start and count must be integers") from None
    if start < 0 or count < 0:
        raise ApiError(400, "Paging parameters start and count must not be negative")
    return start, min(count, max_count)


def paging_block(path: str, params: dict[str, str], start: int, count: int, total: int) -> dict:
    """Build a Rest.li `paging` object with `prev`/`next` links, as LinkedIn returns them."""
    links = []
    others = "&".join(f"{name}={value}" for name, value in params.items() if name not in ("start", "count"))
    if start > 0:
        links.append(_link("prev", path, others, max(start - count, 0), count))
    if start + count < total:
        links.append(_link("next", path, others, start + count, count))
    return {"start": start, "count": count, "total": total, "links": links}


def _link(rel: str, path: str, others: str, start: int, count: int) -> dict:
    query = f"{others}&start={start}&count={count}" if others else f"start={start}&count={count}"
    return {"rel": rel, "href": f"{path}?{query}", "type": "application/json"}
