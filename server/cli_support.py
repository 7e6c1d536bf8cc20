"""What every `gatehouse` command shares: the config option, settings, the store or the whole
provider for one command, tables with headers, `--json`, and one-line failures."""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from pydantic import BaseModel

from admin import Actor, AdminError
from engine import check_directories, check_offered, load_flows
from federation import upstreams_for
from oidc import Provider
from server.provider_factory import build_provider
from server.settings import Settings, SettingsError, load_settings
from steps import PasswordHashing
from store import SealError, Store, open_store

T = TypeVar("T")

config_option = click.option(
    "--config", "-c", envvar="GATEHOUSE_CONFIG", help="Config file (default: ./gatehouse.yaml)."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


class Commands(click.Group):
    """The command group whose every failure is a non-zero exit with a one-line reason on
    standard error (never a traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except AdminError as exc:
            raise click.ClickException(exc.detail) from exc
        except Exception as exc:  # noqa: BLE001
            # A command line reports what went wrong in a line; it does not crash.
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise click.ClickException(f"{type(exc).__name__}: {reason}") from exc


def settings_of(config: str | None) -> Settings:
    try:
        return load_settings(config)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def with_store(settings: Settings, work: Callable[[Store], Awaitable[T]]) -> T:
    async def run() -> T:
        store = await open_store(settings.store)
        try:
            return await work(store)
        except SealError as exc:  # a signing key that the configured credential_keys cannot open
            raise click.ClickException(str(exc)) from exc
        finally:
            await store.close()

    return asyncio.run(run())


def with_provider(settings: Settings, work: Callable[[Provider], Awaitable[T]]) -> T:
    """Run `work` with the provider a server of `settings` would have (its flows, keys and
    services), so that a command does what the admin API does: the same password policy,
    back-channel logout when sessions end, the same audit records."""
    path = settings.path(settings.flows_file)
    if not path.exists():
        raise click.ClickException(
            f"{path}: no flows file (flows_file); the server and this command need it")
    flows = load_flows(path)
    outbound = settings.outbound_http()
    upstreams = upstreams_for(settings.issuer, settings.upstream_providers, outbound)
    check_offered(flows, upstreams)
    check_directories(flows, settings.directories)

    async def on(store: Store) -> T:
        passwords = PasswordHashing(threads=1)
        try:
            with _quiet(logging.getLogger("gatehouse")):  # the server warns about its settings
                provider = await build_provider(
                    settings, store, flows, passwords, outbound, upstreams
                )
            try:
                return await work(provider)
            except AdminError as exc:
                raise click.ClickException(exc.detail) from exc
        finally:
            passwords.close()

    return with_store(settings, on)


@contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def operator() -> Actor:
    """Who runs the command, for the audit records of the changes it makes."""
    try:
        return Actor("cli", getpass.getuser())
    except (KeyError, OSError):  # no name for this uid (a container)
        return Actor("cli", "operator")


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """`rows` under `header`, each column as wide as its widest cell."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in [header, *rows]]


def when(at: float | None) -> str:
    return "-" if at is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


def echo_table(header: list[str], rows: list[list[str]]) -> None:
    for line in table(header, rows):
        click.echo(line)


def echo_json(value: BaseModel | Sequence[BaseModel] | dict[str, Any]) -> None:
    if isinstance(value, BaseModel):
        data: Any = value.model_dump(mode="json")
    elif isinstance(value, dict):
        data = value
    else:
        data = [item.model_dump(mode="json") for item in value]
    click.echo(json.dumps(data, indent=2, sort_keys=False))
