"""Options and plumbing shared by the admin CLI's command groups."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sys
import typing as t

import click

from target_linkedin_audiences.connection import DEFAULT_SANDBOX_DB_PATH, Connection, open_connection
from target_linkedin_audiences.errors import ConfigError, TargetError

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

_F = t.TypeVar("_F", bound="Callable[..., t.Any]")

# Meltano hands plugin settings to `meltano invoke` commands as environment variables.
ENV_PREFIX = "TARGET_LINKEDIN_AUDIENCES_"
# Settings kept as text even when they look like numbers.
TEXT_SETTINGS = frozenset({"client_id", "client_secret", "access_token", "refresh_token", "api_version", "source_platform"})


def load_config_file(path: str | None) -> dict[str, t.Any]:
    """Read a JSON config file; no path means an empty config."""
    if path is None:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(config, dict):
        raise ConfigError(f"config file {path} must hold a JSON object")
    return config


def connection_options(function: _F) -> _F:
    """Add `--config`, `--sandbox` and `--sandbox-db` to a command."""
    options = [
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False),
            help="JSON config file with the target's settings (client_id, tokens, ad_account_id...).",
        ),
        click.option("--sandbox", is_flag=True, help="Use the embedded local sandbox instead of LinkedIn."),
        click.option(
            "--sandbox-db",
            type=click.Path(dir_okay=False),
            default=None,
            help=f"SQLite file of the embedded sandbox [default: {DEFAULT_SANDBOX_DB_PATH}].",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def config_from_environment(environ: t.Mapping[str, str] | None = None) -> dict[str, t.Any]:
    """Read settings from `TARGET_LINKEDIN_AUDIENCES_<SETTING>` variables, as Meltano sets them.

    Values that parse as JSON (numbers, booleans, objects) are decoded; others stay strings.
    """
    from target_linkedin_audiences.settings import CONFIG_SCHEMA

    environ = os.environ if environ is None else environ
    config: dict[str, t.Any] = {}
    for name in CONFIG_SCHEMA["properties"]:
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is None or raw == "":
            continue
        if name in TEXT_SETTINGS:
            config[name] = raw
            continue
        try:
            config[name] = json.loads(raw)
        except json.JSONDecodeError:
            config[name] = raw
    return config


def build_config(config_path: str | None, sandbox: bool, sandbox_db: str | None) -> dict[str, t.Any]:
    """Merge environment settings, the config file and the command-line sandbox switches.

    The config file wins over the environment; the command-line switches win over both.
    """
    config = config_from_environment()
    config.update(load_config_file(config_path))
    if sandbox:
        config["sandbox"] = True
    if sandbox_db:
        config["sandbox_db_path"] = sandbox_db
    if config_path is not None:
        config.setdefault("_config_path", os.path.abspath(config_path))
    return config


@contextlib.contextmanager
def connected(config: t.Mapping[str, t.Any], *, require_token: bool = True) -> Iterator[Connection]:
    """Open the connection for one command and close it, sandbox included, afterwards."""
    connection = open_connection(config, require_token=require_token)
    try:
        yield connection
    finally:
        connection.close()


def exit_on_error(function: _F) -> _F:
    """Turn the project's errors into one line on stderr and their documented exit code."""

    @functools.wraps(function)
    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        try:
            return function(*args, **kwargs)
        except TargetError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return t.cast("_F", wrapper)


def configure_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
