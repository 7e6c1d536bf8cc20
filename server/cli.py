"""The `gatehouse` command: serve, users, clients, flows, config."""

from __future__ import annotations

import asyncio
import getpass
import io
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO, TypeVar

import click

from engine.diagram import UnknownFlow, render_dot, render_mermaid
from engine.loader import FlowsError, load_flows
from federation.providers import check_offered, upstreams_for
from observe.logs import configure_logging
from observe.metrics import MULTIPROC_ENV
from oidc.keys import SUPPORTED_ALGS, KeyRing, rotate
from oidc.outbound import OutboundHttp
from server.settings import Settings, SettingsError, load_settings, settings_doc
from steps.password_formats import format_of
from steps.password_hashing import PasswordHashing
from steps.sealing import Sealer
from store import DuplicateError, Store, open_store
from store.records import UserRecord
from store.transfer import export_lines, import_lines
from store.url import is_process_local
from store.user_import import FileFormat, import_users

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
@click.option(
    "--workers", type=click.IntRange(min=1), default=1, show_default=True,
    help="Server processes sharing the port; any of them serves any request (state lives in"
    " the store, which must then be a file or a MongoDB server).",
)
def serve(config: str | None, host: str | None, port: int | None, workers: int) -> None:
    """Run the server (uvicorn with uvloop and httptools)."""
    import uvicorn

    from server.app import APP_FACTORY, create_app
    from server.http_protocol import BoundedHttpToolsProtocol, hand_down
    from server.workers import Supervisor

    settings = _settings(config)
    configure_logging(settings.log_format)
    if workers > 1 and is_process_local(settings.store):
        raise click.ClickException("--workers needs a shared store, not sqlite://:memory:")
    try:
        app = create_app(settings)  # checks flows.yaml and the clients before serving
    except FlowsError as exc:
        raise click.ClickException(f"flows.yaml is invalid:\n{exc}") from exc
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    host, port = host or settings.host, port or settings.port
    click.echo(f"Gatehouse {settings.issuer} listening on http://{host}:{port}"
               + (f" ({workers} workers)" if workers > 1 else ""))
    if settings.demo:
        click.echo(f"Demo relying party: {settings.issuer}/demo")
    hand_down(settings)  # the head bounds, read by every worker's protocol
    options: dict[str, Any] = {
        "host": host, "port": port, "loop": "uvloop", "http": BoundedHttpToolsProtocol,
        "log_level": "warning",
        "log_config": None,  # uvicorn's own lines go through Gatehouse's handler (text or JSON)
        # X-Forwarded-For only from the configured balancers; never from anyone else.
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": ",".join(settings.trusted_proxies) or None,
        "timeout_keep_alive": settings.keep_alive_timeout,
        "limit_concurrency": settings.max_concurrency,
    }
    if workers == 1:
        uvicorn.run(app, **options)
        return
    if config:  # each worker process reads the same settings
        os.environ["GATEHOUSE_CONFIG"] = str(Path(config).resolve())
    if os.environ.get(MULTIPROC_ENV):
        raise SystemExit(Supervisor(workers, APP_FACTORY, options).run())
    # Workers count into files of a private folder, so that a scrape of any adds up all.
    with tempfile.TemporaryDirectory(prefix="gatehouse-metrics-") as folder:
        os.environ[MULTIPROC_ENV] = folder
        code = Supervisor(workers, APP_FACTORY, options).run()
    raise SystemExit(code)


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


@users.command("import")
@config_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--format", "file_format", type=click.Choice(["jsonl", "csv"]),
    help="The file's format (default: csv for a .csv file, else JSON lines).",
)
@click.option("--dry-run", is_flag=True, help="Check the file and report; store nothing.")
def users_import(
    config: str | None, file: str, file_format: FileFormat | None, dry_run: bool
) -> None:
    """Add the users of FILE, exported from another system, with their password hashes as they
    are (replaced with argon2id at each user's next sign-in). Users the store has already (same
    id, username or email) are left as they are, so importing twice is safe."""
    fmt: FileFormat = file_format or ("csv" if file.lower().endswith(".csv") else "jsonl")
    try:  # all of it first: a file that is not text stops before any user is added
        lines = io.StringIO(Path(file).read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{file} is not UTF-8 text: {exc}") from exc
    report = _with_store(_settings(config), lambda store: import_users(
        store, lines, fmt, lambda hashed: format_of(hashed) is not None, time.time(), dry_run
    ))
    click.echo(f"{'would add' if dry_run else 'added'} {report.imported['users']} users; skipped"
               f" {report.present} that exist already; refused {len(report.problems)}")
    _fail_on(report.problems)


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
    settings = _settings(config)
    path = file or str(settings.path(settings.flows_file))
    try:
        loaded = load_flows(path)
        check_offered(loaded, upstreams_for(
            settings.issuer, settings.upstream_providers, OutboundHttp()
        ))
    except (FlowsError, ValueError) as exc:
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


@main.command("export")
@config_option
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
def export_cmd(config: str | None, file: str) -> None:
    """Write every live document of the store to FILE as JSON lines (signing keys and secrets
    included: keep the file as safe as the store; it is created readable by its owner only)."""

    async def work(store: Store) -> int:
        count = 0
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        os.fchmod(fd, 0o600)  # an existing file too: it is about to hold private keys
        with open(fd, "w", encoding="utf-8") as out:
            async for line in export_lines(store, time.time()):
                out.write(line + "\n")
                count += 1
        return count

    count = _with_store(_settings(config), work)
    click.echo(f"exported {count} documents to {file}")


@main.command("import")
@config_option
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--dry-run", is_flag=True, help="Check the file and report; store nothing.")
def import_cmd(config: str | None, file: TextIO, dry_run: bool) -> None:
    """Add the documents of FILE (from `gatehouse export`) to the configured store. Documents the
    store already has are left as they are, so importing twice is safe."""
    report = _with_store(
        _settings(config), lambda store: import_lines(store, file, time.time(), dry_run)
    )
    verb = "would import" if dry_run else "imported"
    counts = ", ".join(f"{n} {name}" for name, n in sorted(report.imported.items())) or "nothing"
    click.echo(f"{verb} {counts}; left {report.present} already present as they are; skipped"
               f" {report.expired} expired")
    _fail_on(report.problems)


def _fail_on(problems: list[str]) -> None:
    """Print each problem of an import (a line of its file) and exit non-zero if there is any."""
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} lines not imported")


@main.command("audit")
@config_option
@click.argument("user")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
def audit_cmd(config: str | None, user: str, limit: int) -> None:
    """USER's audit events (by username, email or sub), newest first, one JSON object a line."""

    async def work(store: Store) -> list[str]:
        found = await store.users.find_by_login(user)
        events = await store.audit.for_subject(found.id if found else user, time.time(), limit)
        return [event.model_dump_json(exclude={"expires_at"}) for event in events]

    for line in _with_store(_settings(config), work):
        click.echo(line)


@main.command("config")
@click.option("--doc", is_flag=True, help="Print every setting with its default.")
@config_option
def config_cmd(doc: bool, config: str | None) -> None:
    """Show the effective settings (secrets hidden), or document them with --doc."""
    if doc:
        click.echo(settings_doc())
        return
    settings = _settings(config)
    click.echo(settings.model_dump_json(
        indent=2, exclude={"metrics_token": True, "clients": {"__all__": {"client_secret"}}}
    ))


if __name__ == "__main__":
    main()
