"""The `gatehouse` command: serve, users, clients, flows, config."""

from __future__ import annotations

import asyncio
import getpass
import logging
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from engine.diagram import UnknownFlow, render_dot, render_mermaid
from engine.loader import FlowsError, load_flows
from oidc.keys import SUPPORTED_ALGS, KeyRing, rotate
from server.settings import Settings, SettingsError, load_settings, settings_doc
from steps.password_hashing import PasswordHashing
from steps.sealing import Sealer
from store import DuplicateError, Store, open_store
from store.records import UserRecord

T = TypeVar("T")
MIN_PASSWORD_LENGTH = 8


def _settings(config: str | None) -> Settings:
    try:
        return load_settings(config)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def _with_store(settings: Settings, work: Callable[[Store], Awaitable[T]]) -> T:
    async def run() -> T:
        store = await open_store(settings.store)
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


config_option = click.option(
    "--config", "-c", envvar="GATEHOUSE_CONFIG", help="Config file (default: ./gatehouse.yaml)."
)


@click.group()
def main() -> None:
    """Gatehouse: an OpenID Connect provider with sign-in journeys declared in flows.yaml."""


@main.command()
@config_option
@click.option("--host", help="Listen address (default from the config).")
@click.option("--port", type=int, help="Listen port (default from the config).")
def serve(config: str | None, host: str | None, port: int | None) -> None:
    """Run the server (uvicorn with uvloop and httptools)."""
    import uvicorn

    from server.app import create_app

    settings = _settings(config)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("gatehouse").setLevel(logging.INFO)
    try:
        app = create_app(settings)
    except FlowsError as exc:
        raise click.ClickException(f"flows.yaml is invalid:\n{exc}") from exc
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    host, port = host or settings.host, port or settings.port
    click.echo(f"Gatehouse {settings.issuer} listening on http://{host}:{port}")
    if settings.demo:
        click.echo(f"Demo relying party: {settings.issuer}/demo")
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        proxy_headers=False,
    )


@main.group()
def users() -> None:
    """Manage users."""


@users.command("add")
@config_option
@click.argument("username")
@click.option("--email", help="The user's email address.")
@click.option("--name", help="The user's full name (the `name` claim).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--if-missing", is_flag=True, help="Do nothing if the username exists.")
def users_add(
    config: str | None,
    username: str,
    email: str | None,
    name: str | None,
    password_stdin: bool,
    if_missing: bool,
) -> None:
    """Add a user; the password is asked for (or read from stdin) and stored as argon2id."""
    if "@" in username:
        raise click.BadParameter("a username cannot contain @ (that is how emails are told apart)")
    settings = _settings(config)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise click.ClickException("the passwords differ")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.ClickException(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")

    async def add(store: Store) -> str:
        if if_missing and await store.users.find_by_login(username):
            return f"user {username} exists; left as it is"
        hashing = PasswordHashing(threads=1)
        try:
            user = UserRecord(
                id=secrets.token_urlsafe(16),
                username=username,
                email=email,
                email_verified=email is not None,  # the operator vouches for it
                password_hash=await hashing.hash(password),
                claims={"name": name} if name else {},
                created_at=time.time(),
            )
        finally:
            hashing.close()
        try:
            await store.users.add(user)
        except DuplicateError as exc:
            raise click.ClickException("that username or email is taken") from exc
        return f"added user {username} (sub {user.id})"

    click.echo(_with_store(settings, add))


@main.group()
def clients() -> None:
    """Inspect clients."""


@clients.command("list")
@config_option
def clients_list(config: str | None) -> None:
    """The clients in the config: id, auth method, flow, redirect URIs."""
    for client in _settings(config).clients:
        click.echo(
            f"{client.client_id}\t{client.token_endpoint_auth_method}\t"
            f"flow={client.flow or '(default)'}\t{' '.join(client.redirect_uris)}"
        )


@main.group()
def keys() -> None:
    """Signing keys (list, rotate) and keys that seal secrets at rest."""


@keys.command("list")
@config_option
def keys_list(config: str | None) -> None:
    """Every key: kid, algorithm, when it signs from, and when it stops being published."""
    settings = _settings(config)
    now = time.time()

    def when(at: float | None) -> str:
        return "-" if at is None else time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at))

    async def show(store: Store) -> list[str]:
        await KeyRing.load(store)
        lines = []
        for key in await store.keys.all():
            state = (
                "retired"
                if key.retires_at is not None and key.retires_at <= now
                else "next"
                if key.activates_at > now
                else "retiring"
                if key.retires_at is not None
                else "active"
            )
            lines.append(
                f"{key.kid}\t{key.alg}\t{state}\tsigns from {when(key.activates_at or None)}"
                f"\tpublished until {when(key.retires_at)}"
            )
        return lines

    for line in _with_store(settings, show):
        click.echo(line)


@keys.command("rotate")
@config_option
@click.option(
    "--alg", type=click.Choice(["all", *SUPPORTED_ALGS]), default="all", show_default=True
)
@click.option(
    "--activate-in",
    type=float,
    default=900,
    show_default=True,
    help="Seconds the new key is published before it signs (more than key_refresh_interval"
    " plus the 300 s JWKS cache).",
)
def keys_rotate(config: str | None, alg: str, activate_in: float) -> None:
    """Add the next key; the current one keeps verifying until its tokens have expired."""
    settings = _settings(config)
    tokens_live = max(settings.id_token_lifetime, settings.access_token_lifetime)

    async def work(store: Store) -> list[str]:
        await KeyRing.load(store)
        algs = SUPPORTED_ALGS if alg == "all" else (alg,)
        done = [await rotate(store, a, activate_in, tokens_live) for a in algs]
        return [f"{k.alg}: next key {k.kid} signs in {activate_in:.0f} s" for k in done]

    for line in _with_store(settings, work):
        click.echo(line)


@keys.command("new-sealing-key")
def keys_new_sealing_key() -> None:
    """Print a new key for `credential_keys` (put it first to rotate; keep the old ones after)."""
    click.echo(Sealer.new_key())


@main.group()
def flows() -> None:
    """Check and draw the sign-in journeys."""


@flows.command("check")
@config_option
@click.argument("file", required=False)
def flows_check(config: str | None, file: str | None) -> None:
    """Check FILE (default: the config's flows file); every problem with file:line:column."""
    path = file or str(_settings(config).path(_settings(config).flows_file))
    try:
        loaded = load_flows(path)
    except FlowsError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from exc
    click.echo(f"{path}: {len(loaded.flows)} flows, no problems")


@flows.command("graph")
@config_option
@click.argument("name")
@click.argument("file", required=False)
@click.option(
    "--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True
)
def flows_graph(config: str | None, name: str, file: str | None, fmt: str) -> None:
    """Draw flow NAME of FILE (default: the config's flows file), conditions on its edges."""
    path = file or str(_settings(config).path(_settings(config).flows_file))
    try:
        loaded = load_flows(path)
    except FlowsError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from exc
    try:
        click.echo((render_dot if fmt == "dot" else render_mermaid)(loaded, name), nl=False)
    except UnknownFlow as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from exc


@main.command("config")
@click.option("--doc", is_flag=True, help="Print every setting with its default.")
@config_option
def config_cmd(doc: bool, config: str | None) -> None:
    """Show the effective settings (secrets hidden), or document them with --doc."""
    if doc:
        click.echo(settings_doc())
        return
    settings = _settings(config)
    click.echo(
        settings.model_dump_json(indent=2, exclude={"clients": {"__all__": {"client_secret"}}})
    )


if __name__ == "__main__":
    main()
