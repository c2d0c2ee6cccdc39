"""Token store: atomic 0600 writes, token-only contents, path resolution, store-versus-config choice."""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
from pathlib import Path

import pytest

from target_linkedin_audiences.auth import TokenSet
from target_linkedin_audiences.errors import ConfigError
from target_linkedin_audiences.token_store import (
    MELTANO_STORE_RELATIVE_PATH,
    STORE_KEYS,
    TOKEN_STORE_FILENAME,
    StoredTokens,
    TokenStore,
    config_file_from_argv,
    config_tokens_fingerprint,
    resolve_token_store_path,
    select_tokens,
)

ACCESS = "AQV-access-" + "a" * 60
REFRESH = "AQX-refresh-" + "b" * 60


def token_set(access: str = ACCESS, refresh: str | None = REFRESH) -> TokenSet:
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        access_token_expires_at=2_000_000_000.0,
        refresh_token_expires_at=2_100_000_000.0,
        scope="r_ads rw_dmp_segments",
    )


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")

    store.save(token_set(), config_tokens_sha256="abc")
    loaded = store.load()

    assert loaded is not None
    assert loaded.tokens.access_token == ACCESS
    assert loaded.tokens.refresh_token == REFRESH
    assert loaded.tokens.access_token_expires_at == 2_000_000_000.0
    assert loaded.tokens.refresh_token_expires_at == 2_100_000_000.0
    assert loaded.tokens.scope == "r_ads rw_dmp_segments"
    assert loaded.config_tokens_sha256 == "abc"
    assert loaded.updated_at is not None


def test_save_writes_mode_0600_and_only_token_keys(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "tokens.json"
    store = TokenStore(path)

    store.save(token_set())

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(json.loads(path.read_text())) == set(STORE_KEYS)
    leftovers = [entry.name for entry in path.parent.iterdir() if entry.name.endswith(".tmp")]
    assert leftovers == []


def test_save_replaces_a_readable_file_with_0600(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text("{}")
    os.chmod(path, 0o644)

    TokenStore(path).save(token_set())

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_load_missing_file_returns_none(tmp_path: Path) -> None:
    assert TokenStore(tmp_path / "absent.json").load() is None


def test_load_invalid_json_hides_contents(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text('{"access_token": "' + ACCESS + '",')

    with pytest.raises(ConfigError) as caught:
        TokenStore(path).load()

    assert "not valid JSON" in str(caught.value)
    assert ACCESS not in str(caught.value)


def test_load_rejects_non_numeric_expiry(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"access_token": ACCESS, "access_token_expires_at": "soon"}))

    with pytest.raises(ConfigError, match="epoch seconds"):
        TokenStore(path).load()


def test_load_warns_when_readable_by_others(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "tokens.json"
    TokenStore(path).save(token_set())
    os.chmod(path, 0o644)

    with caplog.at_level(logging.WARNING):
        TokenStore(path).load()

    assert "readable by other users" in caplog.text
    assert ACCESS not in caplog.text


def test_concurrent_saves_leave_valid_json(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    errors: list[BaseException] = []

    def save_many(prefix: str) -> None:
        try:
            for number in range(20):
                TokenStore(path).save(token_set(access=f"{prefix}-{number}"))
        except BaseException as exc:  # noqa: BLE001 - reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=save_many, args=(f"t{index}",)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    loaded = TokenStore(path).load()
    assert loaded is not None
    assert loaded.tokens.access_token.endswith("-19")


def test_delete_removes_file(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    store.save(token_set())

    assert store.delete() is True
    assert store.delete() is False
    assert store.load() is None


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["target-linkedin-audiences", "--config", "a.json"], "a.json"),
        (["target-linkedin-audiences", "--config=b.json"], "b.json"),
        (["target-linkedin-audiences", "--config", "a.json", "--config", "ENV"], "a.json"),
        (["target-linkedin-audiences", "--config", "a.json", "--config", "c.json"], "c.json"),
        (["target-linkedin-audiences", "--about"], None),
        (["target-linkedin-audiences", "--config"], None),
    ],
)
def test_config_file_from_argv(argv: list[str], expected: str | None) -> None:
    assert config_file_from_argv(argv) == expected


def test_store_path_setting_wins(tmp_path: Path) -> None:
    config = {"token_store_path": str(tmp_path / "mine.json"), "_config_path": str(tmp_path / "c.json")}

    path = resolve_token_store_path(config, environ={"MELTANO_PROJECT_ROOT": "/project"}, argv=[])

    assert path == tmp_path / "mine.json"


def test_store_path_under_meltano(tmp_path: Path) -> None:
    config = {"_config_path": str(tmp_path / "run" / "target.json")}

    path = resolve_token_store_path(config, environ={"MELTANO_PROJECT_ROOT": str(tmp_path)}, argv=[])

    assert path == tmp_path / MELTANO_STORE_RELATIVE_PATH
    assert path.parent.parent.name == ".meltano"


def test_store_path_beside_config_file(tmp_path: Path) -> None:
    config = {"_config_path": str(tmp_path / "config.json")}

    path = resolve_token_store_path(config, environ={}, argv=[])

    assert path == tmp_path / TOKEN_STORE_FILENAME


def test_store_path_from_target_argv(tmp_path: Path) -> None:
    argv = ["target-linkedin-audiences", "--config", str(tmp_path / "config.json")]

    path = resolve_token_store_path({}, environ={}, argv=argv)

    assert path == tmp_path / TOKEN_STORE_FILENAME


def test_store_path_defaults_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    assert resolve_token_store_path({}, environ={}, argv=[]) == tmp_path / TOKEN_STORE_FILENAME


def stored(tokens: TokenSet, config_access: str | None, config_refresh: str | None) -> StoredTokens:
    return StoredTokens(tokens, 1.0, config_tokens_fingerprint(config_access, config_refresh))


def test_select_without_store_uses_config() -> None:
    config_tokens = token_set("config-access", "config-refresh")

    assert select_tokens(config_tokens, None) == (config_tokens, "config")
    assert select_tokens(None, None) == (None, "none")


def test_select_store_wins_when_config_empty() -> None:
    store_tokens = token_set("store-access", "store-refresh")

    chosen, source = select_tokens(None, stored(store_tokens, None, None))

    assert source == "store"
    assert chosen is store_tokens


def test_select_store_wins_over_the_config_it_replaced() -> None:
    store_tokens = token_set("refreshed-access", "config-refresh")
    config_tokens = TokenSet("config-access", "config-refresh")

    chosen, source = select_tokens(config_tokens, stored(store_tokens, "config-access", "config-refresh"))

    assert source == "store"
    assert chosen is store_tokens


def test_select_config_wins_when_it_changed_after_store() -> None:
    store_tokens = token_set("old-access", "old-refresh")
    config_tokens = TokenSet("new-access", "new-refresh")

    chosen, source = select_tokens(config_tokens, stored(store_tokens, "older-access", "old-refresh"))

    assert source == "config"
    assert chosen is config_tokens


def test_select_store_wins_with_same_access_token() -> None:
    store_tokens = token_set("same-access", "refresh")

    chosen, source = select_tokens(TokenSet("same-access", None), stored(store_tokens, None, None))

    assert source == "store"
    assert chosen is store_tokens
