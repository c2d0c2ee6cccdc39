"""Normalise and validate text, email, Google advertising id and country values.

Every public function takes any JSON value and returns the normalised value, or None when
the value is unusable (`classify_email` returns a skip reason instead). None of them raises
on bad input or puts the input into a message, because the input may be personal data.
"""

from __future__ import annotations

import hashlib
import re
import threading
import typing as t
import unicodedata

import idna
import pycountry

# Longer raw values are rejected before any other work, so a 10 MB cell costs one len() call.
MAX_RAW_CHARS = 4096

SHA256_EMAIL = "SHA256_EMAIL"
SHA512_EMAIL = "SHA512_EMAIL"
GOOGLE_AID = "GOOGLE_AID"

_HEX_RE = re.compile(r"[0-9a-fA-F]+")
# C0 and C1 control characters other than the whitespace that str.split() already folds, and
# lone surrogates, which JSON allows but UTF-8 cannot encode.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
SPACE_OR_CONTROL_RE = re.compile(r"[\s\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]"
_ASCII_LOCAL_RE = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# At least two labels and a top-level label that is alphabetic or an IDNA A-label.
ASCII_DOMAIN_RE = re.compile(rf"(?:{_LABEL}\.)+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}})")
_ASCII_EMAIL_RE = re.compile(rf"{_ASCII_LOCAL_RE.pattern}@{ASCII_DOMAIN_RE.pattern}")
_GAID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ZERO_GAID = "00000000-0000-0000-0000-000000000000"


# --- text -----------------------------------------------------------------------------------


def clean_text(value: object) -> str | None:
    """Trim a text value, fold inner whitespace runs to one space and apply Unicode NFC.

    Integers (not booleans) are accepted as their decimal text, because CRM exports often type
    postal codes and ids as numbers. Returns None for blanks, other types, values with control
    characters (NUL included) and values longer than MAX_RAW_CHARS.
    """
    if type(value) is int:
        return str(value)
    if type(value) is not str or len(value) > MAX_RAW_CHARS:
        return None
    # isprintable() is a fast C check that already rules out every control character.
    if not value.isprintable() and _CONTROL_RE.search(value):
        return None
    text = " ".join(value.split())
    if not text:
        return None
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text


def truncate_text(value: object, limit: int) -> str | None:
    """Clean a text value and cut it to at most `limit` characters."""
    text = clean_text(value)
    if text is None or len(text) <= limit:
        return text
    return text[:limit].rstrip()


def is_blank(value: object) -> bool:
    """Return True for a missing value: None, an empty or whitespace-only string, an empty list."""
    if value is None:
        return True
    if type(value) is str:
        return not value or value.isspace()
    if type(value) is list:
        return not value
    return False


# --- emails and Google advertising ids ------------------------------------------------------


def classify_email(value: object) -> tuple[str, str, bool] | str:
    """Turn an email or an email digest into `(idType, idValue, prehashed)`, or a skip reason.

    A trimmed value of 64 or 128 hex digits is a SHA-256 or SHA-512 digest: it is lowercased
    and never hashed again. Anything else must pass `canonical_email` and is hashed with
    SHA-256 as lowercase hex. The returned reason is `"invalid_identifier"` for a value without
    `@` that looks like a digest (64 or 128 characters, or 32+ hex digits such as MD5 or SHA-1,
    which LinkedIn does not accept), else `"invalid_email"`.
    """
    if type(value) is not str or len(value) > MAX_RAW_CHARS:
        return "invalid_email"
    text = value.strip()
    if "@" not in text:
        length = len(text)
        is_hex = _HEX_RE.fullmatch(text) is not None
        if is_hex and length == 64:
            return SHA256_EMAIL, text.lower(), True
        if is_hex and length == 128:
            return SHA512_EMAIL, text.lower(), True
        if length in (64, 128) or (is_hex and length >= 32):
            return "invalid_identifier"
        return "invalid_email"
    email = canonical_email(text)
    if email is None:
        return "invalid_email"
    return SHA256_EMAIL, hashlib.sha256(email.encode("utf-8")).hexdigest(), False


def hash_email(value: object) -> tuple[str, str] | None:
    """Return `(idType, idValue)` for an email or email digest, or None when it is invalid."""
    result = classify_email(value)
    if type(result) is str:
        return None
    return result[0], result[1]


def canonical_email(value: object) -> str | None:
    """Return the form of an email address that gets hashed, or None when it is not valid.

    The check is pragmatic, not RFC 5322. After trimming, the address has exactly one `@` and
    no whitespace or control character, and is at most 254 characters long. The local part
    has 1-64 characters of RFC 5322 atext (non-ASCII letters allowed) joined by single dots.
    The domain has at least two valid DNS labels and an alphabetic top-level label. The
    result is lowercased and NFC-normalised. An internationalised domain is hashed in its Unicode form
    (A-labels such as `xn--bcher-kva` are decoded), so both spellings of one mailbox give one
    digest.
    """
    # NOTE: LinkedIn does not say whether it hashes IDN email domains as Unicode or punycode.
    # Unicode is what a member types and what Campaign Manager would hash from a CSV.
    if type(value) is not str or len(value) > MAX_RAW_CHARS:
        return None
    text = value.strip()
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    text = text.lower()
    if len(text) > 254 or text.count("@") != 1:
        return None
    local, domain = text.split("@")
    if not local or len(local) > 64:
        return None
    if text.isascii() and "xn--" not in domain:
        # Neither part can contain the one `@`, so the address matches _ASCII_EMAIL_RE exactly
        # when each part matches its own pattern. Domains repeat, so theirs is memoised.
        if _ASCII_LOCAL_RE.fullmatch(local) is None or not _is_ascii_domain(domain):
            return None
        return text
    if local.isascii():
        if _ASCII_LOCAL_RE.fullmatch(local) is None:
            return None
    elif not _is_unicode_local_part(local):
        return None
    if domain.isascii() and "xn--" not in domain:
        if ASCII_DOMAIN_RE.fullmatch(domain) is None:
            return None
        return text
    unicode_domain = _idna_unicode_domain(domain)
    if unicode_domain is None:
        return None
    return f"{local}@{unicode_domain}"


_NOT_CACHED = object()


def memoize_strings(function: t.Callable[[object], object], max_values: int) -> t.Callable[[object], object]:
    """Wrap a one-argument function with a cache of its results for up to `max_values` strings.

    Later new strings are computed but not kept, and other types are never cached. The cache
    lives in memory only, as long as the wrapper.
    """
    cache: dict[str, object] = {}

    def cached(value: object) -> object:
        if type(value) is not str:
            return function(value)
        result = cache.get(value, _NOT_CACHED)
        if result is _NOT_CACHED:
            result = function(value)
            if len(cache) < max_values:
                cache[value] = result
        return result

    return cached


_is_ascii_domain = memoize_strings(lambda domain: ASCII_DOMAIN_RE.fullmatch(domain) is not None, 10_000)


def _is_unicode_local_part(local: str) -> bool:
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return False
    for char in local:
        if char.isascii():
            if _ASCII_LOCAL_RE.fullmatch(char) is None and char != ".":
                return False
        elif not (char.isalnum() or unicodedata.category(char).startswith("M")):
            return False
    return True


def _idna_unicode_domain(domain: str) -> str | None:
    ascii_domain = idna_ascii_domain(domain)
    if ascii_domain is None:
        return None
    try:
        return idna.decode(ascii_domain)
    except (idna.IDNAError, UnicodeError):
        return None


def idna_ascii_domain(domain: str) -> str | None:
    """Return the lowercase A-label (punycode) form of a domain with 2+ labels, or None."""
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return None
    ascii_domain = ascii_domain.lower()
    if len(ascii_domain) > 253 or ASCII_DOMAIN_RE.fullmatch(ascii_domain) is None:
        return None
    return ascii_domain


def normalize_google_aid(value: object) -> str | None:
    """Return a Google advertising id as lowercase UUID text, or None when it is not one.

    The all-zero id is rejected: Android reports it when the user opted out of ad tracking.
    """
    if type(value) is not str or len(value) > MAX_RAW_CHARS:
        return None
    text = value.strip().lower()
    if _GAID_RE.fullmatch(text) is None or text == _ZERO_GAID:
        return None
    return text


# --- countries ------------------------------------------------------------------------------


_COUNTRY_CACHE: dict[str, str | None] = {}
_COUNTRY_CACHE_MAX = 10_000
_COUNTRY_INDEX_LOCK = threading.Lock()
_country_index: dict[str, str] | None = None
# "UK" is not in pycountry: ISO 3166-1 exceptionally reserves it for the United Kingdom.
_EXCEPTIONALLY_RESERVED = {"UK": "GB"}
_MIN_PREFIX_CHARS = 4


def _fold_name(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    stripped = stripped.lower().replace("&", " and ").replace("’", "'").replace(".", "")
    return " ".join(stripped.split())


def _country_names() -> dict[str, str]:
    """Build the folded-name index from pycountry once: names, official and common names."""
    global _country_index
    with _COUNTRY_INDEX_LOCK:
        if _country_index is not None:
            return _country_index
        index: dict[str, str] = {}
        for country in pycountry.countries:
            for attribute in ("name", "official_name", "common_name"):
                name = getattr(country, attribute, None)
                if name:
                    index.setdefault(_fold_name(name), country.alpha_2)
        # England, Scotland and Wales are subdivisions of type "Country" of GB in ISO 3166-2.
        for subdivision in pycountry.subdivisions:
            if subdivision.type == "Country":
                name = subdivision.name.split("[")[0]
                index.setdefault(_fold_name(name), subdivision.country_code)
        _country_index = index
        return index


def normalize_country(value: object) -> str | None:
    """Return the ISO 3166-1 alpha-2 code for a country code or name, or None when unknown.

    Tried in this order: alpha-2, alpha-3 and numeric codes, and "UK". Then English short,
    official and common names from pycountry, compared without case, accents, periods or
    `&`/`and` differences, also with a trailing "(...)" qualifier removed. Last, a name of 4+
    characters that starts exactly one country's name, such as "Russia" for "Russian
    Federation". Ambiguous names ("Korea") are unknown.
    """
    # NOTE: pycountry has only current ISO names, so former names such as "Turkey",
    # "Swaziland", "Ivory Coast" or "Burma" are unknown and the country is omitted.
    if type(value) is not str or len(value) > 100:
        return None
    cached = _COUNTRY_CACHE.get(value, False)
    if cached is not False:
        return cached
    text = clean_text(value)
    code = None if text is None else _lookup_country(text)
    # Country values repeat a lot, so a bounded cache keyed by the raw value saves the lookup.
    if len(_COUNTRY_CACHE) < _COUNTRY_CACHE_MAX:
        _COUNTRY_CACHE[value] = code
    return code


def _lookup_country(text: str) -> str | None:
    folded = _fold_name(text)
    compact = folded.replace(" ", "").upper()
    if len(compact) == 2 and compact.isalpha():
        if compact in _EXCEPTIONALLY_RESERVED:
            return _EXCEPTIONALLY_RESERVED[compact]
        country = pycountry.countries.get(alpha_2=compact)
        return country.alpha_2 if country else None
    if len(compact) == 3 and compact.isalpha():
        country = pycountry.countries.get(alpha_3=compact)
        if country:
            return country.alpha_2
    if len(compact) == 3 and compact.isdigit():
        country = pycountry.countries.get(numeric=compact)
        return country.alpha_2 if country else None

    names = _country_names()
    if folded in names:
        return names[folded]
    # Exports often add a qualifier: "Slovakia (Slovak Republic)", "Bouvet Island (Bouvetoya)".
    if "(" in folded:
        base = folded.split("(", 1)[0].strip()
        if base in names:
            return names[base]
    if len(folded) < _MIN_PREFIX_CHARS:
        return None
    matches = {code for name, code in names.items() if name.startswith(folded)}
    if len(matches) == 1:
        return matches.pop()
    return None
