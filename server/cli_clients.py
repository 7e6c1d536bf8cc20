"""`gatehouse clients`: list every client (with where it comes from); add, remove and rotate the
secret of store clients, as the admin API does; initial access tokens for registration."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from admin import (
    all_clients,
    client_view,
    create_client,
    delete_client,
    find_client,
    rotate_secret,
)
from core import digest
from oidc import ClientPolicy, Provider
from server.cli_support import (
    Commands,
    config_option,
    echo_json,
    echo_table,
    json_option,
    operator,
    settings_of,
    with_provider,
    with_store,
)
from server.settings import ClientSettings
from store import InitialAccessTokenRecord, Store

SOURCES = {"config": "gatehouse.yaml", "registration": "registration", "admin": "admin"}


@click.group(cls=Commands)
def clients() -> None:
    """Manage clients: those of gatehouse.yaml are changed there, the others here."""


def _config_row(client: ClientSettings) -> dict[str, Any]:
    return {"client_id": client.client_id, "client_name": client.client_name, "source": "config",
            "metadata": client.model_dump(mode="json", exclude={"client_secret"})}


@clients.command("list")
@config_option
@json_option
def clients_list(config: str | None, as_json: bool) -> None:
    """Every client: id, where it comes from, auth method, flow, redirect URIs."""
    settings = settings_of(config)

    async def work(provider: Provider) -> list[dict[str, Any]]:
        stored = [client_view(c).model_dump(mode="json") for c in await all_clients(provider)
                  if c.source in ("admin", "registration")]
        return [_config_row(c) for c in settings.clients] + stored

    found = with_provider(settings, work)
    if as_json:
        echo_json({"items": found})
        return
    echo_table(["CLIENT ID", "SOURCE", "AUTH METHOD", "FLOW", "REDIRECT URIS"], [
        [c["client_id"], SOURCES[c["source"]], c["metadata"]["token_endpoint_auth_method"],
         c["metadata"].get("flow") or "(default)", " ".join(c["metadata"]["redirect_uris"])]
        for c in found
    ])


def _policy(client_id: str, metadata: dict[str, Any]) -> ClientPolicy:
    try:
        return ClientPolicy.model_validate({**metadata, "client_id": client_id})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "metadata"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise click.ClickException(f"{where}: {first['msg']}{more}") from exc


@clients.command("add")
@config_option
@click.argument("client_id")
@click.option("--name", help="The name the sign-in pages show (client_name).")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="Again for more.")
@click.option("--grant-type", "grant_types", multiple=True,
              help="authorization_code (the default), refresh_token, client_credentials...")
@click.option("--auth-method", help="token_endpoint_auth_method (default client_secret_basic;"
              " none for a public client).")
@click.option("--scope", help="The scopes it may ask for, space-separated.")
@click.option("--flow", help="The flow its users sign in through (default: the default flow).")
@click.option("--metadata", type=click.Path(exists=True, dir_okay=False),
              help="A JSON file of any other client settings (RFC 7591 names; see"
              " docs/configuration.md); the options above take precedence.")
@json_option
def clients_add(
    config: str | None, client_id: str, name: str | None, redirect_uris: tuple[str, ...],
    grant_types: tuple[str, ...], auth_method: str | None, scope: str | None,
    flow: str | None, metadata: str | None, as_json: bool,
) -> None:
    """Add a client to the store; its secret (if it has one) is printed once, and only its
    digest is kept."""
    given: dict[str, Any] = json.loads(Path(metadata).read_text()) if metadata else {}
    if not isinstance(given, dict):
        raise click.ClickException(f"{metadata} does not hold a JSON object")
    options = {"client_name": name, "redirect_uris": list(redirect_uris) or None,
               "grant_types": list(grant_types) or None,
               "token_endpoint_auth_method": auth_method, "scope": scope, "flow": flow}
    policy = _policy(client_id, {**given, **{k: v for k, v in options.items() if v is not None}})

    async def work(provider: Provider) -> tuple[dict[str, Any], str | None]:
        client, secret = await create_client(provider, operator(), policy)
        return client_view(client).model_dump(mode="json"), secret

    added, secret = with_provider(settings_of(config), work)
    if as_json:
        echo_json({**added, "client_secret": secret})
    elif secret:
        click.echo(f"added client {client_id}; its secret, shown only now:\n{secret}")
    else:
        click.echo(f"added client {client_id} (no secret: {policy.token_endpoint_auth_method})")


@clients.command("remove")
@config_option
@click.argument("client_id")
def clients_remove(config: str | None, client_id: str) -> None:
    """Remove a store client, revoking every grant it holds."""

    async def work(provider: Provider) -> None:
        await delete_client(provider, operator(), await find_client(provider, client_id))

    with_provider(settings_of(config), work)
    click.echo(f"removed client {client_id}; its grants are revoked")


@clients.command("rotate-secret")
@config_option
@click.argument("client_id")
@json_option
def clients_rotate_secret(config: str | None, client_id: str, as_json: bool) -> None:
    """Give a store client a new secret (printed once); the old one stops working at once."""

    async def work(provider: Provider) -> str:
        return await rotate_secret(provider, operator(), await find_client(provider, client_id))

    secret = with_provider(settings_of(config), work)
    if as_json:
        echo_json({"client_id": client_id, "client_secret": secret})
    else:
        click.echo(f"new secret of {client_id}, shown only now:\n{secret}")


@clients.command("token")
@config_option
@click.option("--expires-in", type=click.IntRange(60, 30 * 24 * 3600), default=24 * 3600,
              show_default=True, help="Seconds the token may be used.")
def clients_token(config: str | None, expires_in: int) -> None:
    """Print a new initial access token: one client may register with it (RFC 7591), with any
    metadata, once. Only its digest is stored."""
    settings = settings_of(config)
    token = secrets.token_urlsafe(32)

    async def add(store: Store) -> None:
        await store.initial_access_tokens.add(InitialAccessTokenRecord(
            id=digest(token), expires_at=time.time() + expires_in))

    with_store(settings, add)
    click.echo(token)
