"""The token store: a JSON file that keeps the current OAuth tokens between runs.

The file contains only token keys: both tokens, their expiry times in epoch seconds, the granted
scope, when it was written, and a fingerprint of the tokens the config held at that time. It is
written atomically (temporary file, fsync, rename) with mode 0600 while an exclusive lock is
held, so a crash or a concurrent run never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import stat
import sys
import tempfile
import time
import typing as t
from pathlib import Path

from target_linkedin_audiences.auth import TokenSet
from target_linkedin_audiences.errors import ConfigError

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

logger = logging.getLogger(__name__)

TOKEN_STORE_FILENAME = ".linkedin-audiences-tokens.json"
# Meltano passes a temporary config file to the plugin, so under Meltano the store lives in the
# project's `.meltano` folder, which Meltano keeps out of version control.
MELTANO_STORE_RELATIVE_PATH = Path(".meltano") / "target-linkedin-audiences" / "tokens.json"
STORE_KEYS = (
    "access_token",
    "access_token_expires_at",
    "refresh_token",
    "refresh_token_expires_at",
    "scope",
    "updated_at",
    "config_tokens_sha256",
)

if sys.platform != "win32":
    import fcntl
else:  # pragma: no cover - the project's CI runs on Linux
    fcntl = None


@dataclasses.dataclass
class StoredTokens:
    """The contents of the token store."""

    tokens: TokenSet
    updated_at: float | None
    # SHA-256 of the config's tokens when the store was written; see `select_tokens`.
    config_tokens_sha256: str | None


def config_tokens_fingerprint(access_token: str | None, refresh_token: str | None) -> str | None:
    """Return a SHA-256 fingerprint of the tokens in the config, or None when it has none."""
    if not access_token and not refresh_token:
        return None
    digest = hashlib.sha256()
    digest.update((access_token or "").encode())
    digest.update(b"\0")
    digest.update((refresh_token or "").encode())
    return digest.hexdigest()


def config_file_from_argv(argv: Sequence[str]) -> str | None:
    """Return the last `--config FILE` of a command line, skipping Singer's `--config ENV`."""
    found = None
    for index, argument in enumerate(argv):
        value = None
        if argument == "--config" and index + 1 < len(argv):
            value = argv[index + 1]
        elif argument.startswith("--config="):
            value = argument.split("=", 1)[1]
        if value and value != "ENV":
            found = value
    return found


def resolve_token_store_path(
    config: Mapping[str, t.Any],
    *,
    environ: Mapping[str, str] | None = None,
    argv: Sequence[str] | None = None,
) -> Path:
    """Pick the token store file for `config`.

    The first that applies wins:
    1. the `token_store_path` setting;
    2. under Meltano (`MELTANO_PROJECT_ROOT` is set), `.meltano/target-linkedin-audiences/tokens.json`
       in the project;
    3. beside the config file, from `_config_path` (set by the admin CLI) or the target's
       `--config` argument;
    4. the current directory.
    """
    environ = os.environ if environ is None else environ
    explicit = config.get("token_store_path")
    if explicit:
        return Path(str(explicit)).expanduser()

    meltano_root = environ.get("MELTANO_PROJECT_ROOT")
    if meltano_root:
        return Path(meltano_root) / MELTANO_STORE_RELATIVE_PATH

    config_path = config.get("_config_path")
    if not config_path:
        # NOTE: singer-sdk reads the config files into a dict and keeps no path, so the target
        # finds its config file on its own command line.
        config_path = config_file_from_argv(sys.argv if argv is None else argv)
    if config_path:
        return Path(str(config_path)).expanduser().resolve().parent / TOKEN_STORE_FILENAME
    return Path.cwd() / TOKEN_STORE_FILENAME


class TokenStore:
    """Reads and atomically writes the token store file at `path`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock_path = self.path.with_name(self.path.name + ".lock")

    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> StoredTokens | None:
        """Read the store; return None when the file is missing or contains no access token.

        Raises:
            ConfigError: the file is unreadable or not a JSON object of token keys.
        """
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            msg = f"could not read the token store {self.path}: {exc.strerror}"
            raise ConfigError(msg) from None

        self._warn_if_readable_by_others()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            # The message leaves out the file's text because it contains tokens.
            msg = (
                f"token store {self.path} is not valid JSON (line {exc.lineno}); delete it and run "
                "`linkedin-audiences auth login`"
            )
            raise ConfigError(msg) from None
        if not isinstance(data, dict):
            raise ConfigError(f"token store {self.path} must hold a JSON object")
        if not data.get("access_token"):
            return None

        try:
            tokens = TokenSet(
                access_token=str(data["access_token"]),
                refresh_token=str(data["refresh_token"]) if data.get("refresh_token") else None,
                access_token_expires_at=_optional_float(data.get("access_token_expires_at")),
                refresh_token_expires_at=_optional_float(data.get("refresh_token_expires_at")),
                scope=str(data["scope"]) if data.get("scope") else None,
            )
            updated_at = _optional_float(data.get("updated_at"))
        except (TypeError, ValueError):
            msg = f"token store {self.path} has an expiry time that is not a number of epoch seconds"
            raise ConfigError(msg) from None
        fingerprint = data.get("config_tokens_sha256")
        return StoredTokens(tokens, updated_at, fingerprint if isinstance(fingerprint, str) else None)

    def save(self, tokens: TokenSet, *, config_tokens_sha256: str | None = None) -> None:
        """Write `tokens` atomically with mode 0600 under an exclusive lock.

        Raises:
            ConfigError: the folder cannot be created or the file cannot be written.
        """
        data = {
            "access_token": tokens.access_token,
            "access_token_expires_at": tokens.access_token_expires_at,
            "refresh_token": tokens.refresh_token,
            "refresh_token_expires_at": tokens.refresh_token_expires_at,
            "scope": tokens.scope,
            "updated_at": time.time(),
            "config_tokens_sha256": config_tokens_sha256,
        }
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with self._locked():
                self._write_atomically(json.dumps(data, indent=2) + "\n")
        except OSError as exc:
            msg = f"could not write the token store {self.path}: {exc.strerror or type(exc).__name__}"
            raise ConfigError(msg) from None
        logger.info("Saved the OAuth tokens to %s", self.path)

    def delete(self) -> bool:
        """Remove the store file; return whether there was one."""
        with self._locked():
            try:
                self.path.unlink()
            except FileNotFoundError:
                return False
        return True

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover
            # NOTE: without fcntl (Windows) writes are still atomic but not serialised.
            yield
            return
        self._lock_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            os.close(descriptor)

    def _write_atomically(self, text: str) -> None:
        # mkstemp creates the file with mode 0600, so the tokens are never readable by others.
        descriptor, temporary = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        _fsync_directory(self.path.parent)

    def _warn_if_readable_by_others(self) -> None:
        try:
            mode = self.path.stat().st_mode
        except OSError:
            return
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            logger.warning(
                "Token store %s is readable by other users (mode %o); run `chmod 600` on it",
                self.path,
                stat.S_IMODE(mode),
            )


def select_tokens(
    config_tokens: TokenSet | None,
    stored: StoredTokens | None,
) -> tuple[TokenSet | None, str]:
    """Choose between the config's tokens and the store's; return the tokens and their source.

    The store wins when the config has no tokens, or when the store's fingerprint matches the
    config's tokens. The store is then newer, because only a login or a refresh writes it. When
    the config's tokens changed after the store was written, someone put newer tokens there. The
    config then wins until the next refresh writes its tokens to the store.
    """
    if stored is None:
        return config_tokens, "config" if config_tokens is not None else "none"
    if config_tokens is None:
        return stored.tokens, "store"

    fingerprint = config_tokens_fingerprint(config_tokens.access_token, config_tokens.refresh_token)
    if fingerprint == stored.config_tokens_sha256 or config_tokens.access_token == stored.tokens.access_token:
        return stored.tokens, "store"
    logger.info("Using the tokens from the config: they changed after the token store was last written")
    return config_tokens, "config"


def _optional_float(value: t.Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TypeError("a boolean is not a time")
    return float(value)


def _fsync_directory(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk too (POSIX).
    if sys.platform == "win32":  # pragma: no cover
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
