"""Normalise and validate company values: domains, organization URNs, page URLs and more.

Like the person values in `normalize`, every public function takes any JSON value, returns
the normalised value or None, never raises on bad input and never echoes the input.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from target_linkedin_audiences.normalize import (
    ASCII_DOMAIN_RE,
    SPACE_OR_CONTROL_RE,
    MAX_RAW_CHARS,
    clean_text,
    idna_ascii_domain,
    is_blank,
)

_URN_PREFIX = "urn:li:organization:"
_STOCK_SYMBOL_RE = re.compile(r"[A-Z0-9][A-Z0-9.-]{0,4}")
_PAGE_KINDS = ("company", "school", "showcase")
_MAX_LONG = 2**63 - 1
# RFC 3986 authority split: optional scheme, optional user info, host, optional numeric port.
# One regex is several times faster than urlsplit() on the per-record path.
_URL_HOST_RE = re.compile(
    r"(?:[a-z][a-z0-9+.-]*:)?//(?:[^@/?#]*@)?([^:/?#@]*)(?::[0-9]{0,5})?(?:[/?#].*)?",
    re.IGNORECASE | re.DOTALL,
)


def _has_space_or_control(text: str) -> bool:
    # isprintable() is a fast C check that is False for every control and non-ASCII space.
    if text.isprintable() and " " not in text:
        return False
    return SPACE_OR_CONTROL_RE.search(text) is not None


def normalize_domain(value: object) -> str | None:
    """Reduce a website URL or a bare domain to a lowercase host without `www.`, or None.

    Scheme, user info, port, path, query and fragment are dropped. An internationalised host
    is returned as IDNA A-labels (punycode). IP addresses, single-label hosts and hosts with
    invalid labels are rejected. `www.` is kept only when removing it would leave one label.
    """
    # NOTE: LinkedIn's docs only call companyWebsiteDomain a "URL-encoded string". Punycode is
    # the ASCII form DNS uses, so it is sent; whether LinkedIn also matches U-labels is unknown.
    host = _host_of(value)
    if host is None:
        return None
    if host.startswith("www.") and host.count(".") >= 2:
        host = host[4:]
    return host


def normalize_email_domain(value: object) -> str | None:
    """Return the lowercase A-label domain of an email address or of a bare domain, or None."""
    if type(value) is not str or len(value) > MAX_RAW_CHARS:
        return None
    text = value.strip()
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    return _host_of(text)


def _host_of(value: object) -> str | None:
    if type(value) is not str or len(value) > MAX_RAW_CHARS:
        return None
    text = value.strip()
    if not text or _has_space_or_control(text):
        return None
    lowered = text.lower()
    is_bare = "/" not in lowered and ":" not in lowered and "xn--" not in lowered
    if is_bare and lowered.isascii() and ASCII_DOMAIN_RE.fullmatch(lowered):
        return lowered
    if "://" not in text:
        text = "//" + text
    match = _URL_HOST_RE.fullmatch(text)
    if match is None or not match.group(1):
        return None
    host = match.group(1).lower().rstrip(".")
    if host.replace(".", "").isdigit():
        return None
    if host.isascii() and "xn--" not in host:
        if len(host) > 253 or ASCII_DOMAIN_RE.fullmatch(host) is None:
            return None
        return host
    return idna_ascii_domain(host)


def normalize_organization_urn(value: object) -> str | None:
    """Return `urn:li:organization:N` for an id, a URN in any case, or a doubled URN, or None.

    The id must be a positive integer that fits a signed 64-bit long; leading zeros are dropped.
    """
    if type(value) is int:
        number = value
    elif type(value) is str and len(value) <= MAX_RAW_CHARS:
        text = value.strip()
        while text[: len(_URN_PREFIX)].lower() == _URN_PREFIX:
            text = text[len(_URN_PREFIX) :]
        if not (text.isascii() and text.isdigit()) or len(text) > 25:
            return None
        number = int(text)
    else:
        return None
    if number <= 0 or number > _MAX_LONG:
        return None
    return f"{_URN_PREFIX}{number}"


def normalize_page_url(value: object, max_chars: int = 100) -> str | None:
    """Return an absolute `https://www.linkedin.com/company/<slug>` URL, or None.

    Accepts full URLs on linkedin.com or any of its subdomains, scheme-less ones
    (`linkedin.com/company/acme`) and paths (`/company/acme`, `company/acme`) for company,
    school and showcase pages. Query, fragment and sub-pages (`/about`) are dropped. A result
    longer than `max_chars` is rejected, because a cut URL points elsewhere.
    """
    if type(value) is not str or len(value) > MAX_RAW_CHARS:
        return None
    text = value.strip()
    if not text or _has_space_or_control(text):
        return None
    lowered = text.lower()
    if lowered.startswith("/"):
        text = "https://www.linkedin.com" + text
    elif lowered.split("/", 1)[0] in _PAGE_KINDS:
        text = "https://www.linkedin.com/" + text
    elif "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    if host != "linkedin.com" and not host.endswith(".linkedin.com"):
        return None
    segments = [segment for segment in parts.path.split("/") if segment]
    if len(segments) < 2 or segments[0].lower() not in _PAGE_KINDS:
        return None
    slug = quote(segments[1], safe="%-._~!$&'()*+,;=:@")
    url = f"https://www.linkedin.com/{segments[0].lower()}/{slug}"
    if len(url) > max_chars:
        return None
    return url


def normalize_stock_symbol(value: object, max_chars: int = 5) -> str | None:
    """Return an uppercase ticker of at most `max_chars` characters, or None.

    A leading `$` and an exchange prefix (`NASDAQ:MSFT`) are removed. Longer symbols are
    rejected, not cut.
    """
    text = clean_text(value)
    if text is None:
        return None
    text = text.upper().lstrip("$")
    if ":" in text:
        text = text.rsplit(":", 1)[1].strip()
    if len(text) > max_chars or _STOCK_SYMBOL_RE.fullmatch(text) is None:
        return None
    return text


def normalize_postal_code(value: object, max_chars: int = 20) -> str | None:
    """Return a trimmed postal code of at most `max_chars` characters, or None (never cut)."""
    text = clean_text(value)
    if text is None or len(text) > max_chars:
        return None
    return text


def normalize_industries(
    value: object, max_items: int = 3, max_chars: int = 50
) -> tuple[list[str] | None, bool]:
    """Split industries and return `(names, had_invalid)`.

    `value` is a list of names or one string separated by `;` (Salesforce multi-select
    picklists) or, when there is no `;`, by `,`. Blank items are skipped, duplicates are
    dropped without regard to case, and names longer than `max_chars` or not text count as
    invalid. At most `max_items` names are kept; the rest are dropped without being invalid.
    """
    # NOTE: a single name that contains a comma, such as LinkedIn's "Technology, Information
    # and Internet", is split in a comma-separated string. Send a list or use `;` instead.
    if type(value) is str:
        if len(value) > MAX_RAW_CHARS:
            return None, True
        if ";" not in value and "," not in value:
            name = clean_text(value)
            if name is None:
                return None, not value.isspace()
            if len(name) > max_chars:
                return None, True
            return [name], False
        separator = ";" if ";" in value else ","
        items: list[object] = list(value.split(separator))
    elif type(value) in (list, tuple):
        items = list(value)
    else:
        return None, True

    names: list[str] = []
    seen: set[str] = set()
    had_invalid = False
    for item in items:
        if is_blank(item):
            continue
        name = clean_text(item)
        if name is None or type(item) is not str or len(name) > max_chars:
            had_invalid = True
            continue
        folded = name.casefold()
        if folded in seen:
            continue
        seen.add(folded)
        if len(names) < max_items:
            names.append(name)
    return (names or None), had_invalid
