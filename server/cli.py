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

from core import OutboundHttp, digest
from engine import FlowsError, UnknownFlow, check_offered, load_flows, render_dot, render_mermaid
from federation import Upstream, upstreams_for
from observe import MULTIPROC_ENV, audit, configure_logging
from oidc import SUPPORTED_ALGS, KeyRing, rotate, seal_stored_keys
from server.sealing import sealer_for
from server.settings import Settings, SettingsError, config_path, load_settings, settings_doc
from steps import PasswordHashing, PasswordPolicy, format_of, password_problem, unlock
from store import (
    DuplicateError,
    FileFormat,
    ImportReport,
    InitialAccessTokenRecord,
    Sealer,
    SealError,
    SigningKeyRecord,
    Store,
    UserRecord,
    export_lines,
    import_lines,
    import_users,
    is_process_local,
    open_store,
)

T = TypeVar("T")


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
        except SealError as exc:  # a signing key that the configured credential_keys cannot open
            raise click.ClickException(str(exc)) from exc
        finally:
            await store.close()

    return asyncio.run(run())


config_option = click.option(
    "--config", "-c", envvar="GATEHOUSE_CONFIG", help="Config file (default: ./gatehouse.yaml)."
)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """`rows` under `header`, each column as wide as its widest cell."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in [header, *rows]]


@click.group()
@click.version_option(package_name="gatehouse", prog_name="gatehouse")
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
    from server.direct_answers import FastPathProtocol
    from server.http_protocol import hand_down
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
    # The issuer is the address to open: sign-in cookies belong to its host, not the socket's.
    click.echo(f"Gatehouse is at {settings.issuer} (listening on {host}:{port}"
               + (f", {workers} workers)" if workers > 1 else ")"))
    if settings.demo:
        click.echo(f"Demo relying party: {settings.issuer}/demo"
                   f" (your account: {settings.issuer}/account)")
    hand_down(settings)  # the head bounds, read by every worker's protocol
    options: dict[str, Any] = {
        "host": host, "port": port, "loop": "uvloop", "http": FastPathProtocol,
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
@click.option("--group", "groups", multiple=True,
              help="A group the user is in (again for more); admin_group's may use /admin.")
@click.option("--if-missing", is_flag=True, help="Do nothing if the username exists.")
def users_add(
    config: str | None,
    username: str,
    email: str | None,
    name: str | None,
    password_stdin: bool,
    groups: tuple[str, ...],
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
    # The policy the register and reset_password steps apply (NIST SP 800-63B §3.1.1.2).
    policy = PasswordPolicy.model_validate({})
    if problem := password_problem(policy, password, username, email):
        raise click.ClickException(
            f"{problem} A password needs {policy.min_length} to {policy.max_length} characters,"
            " is not one of the most common ones, and is not the username or email."
        )

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
                groups=list(dict.fromkeys(groups)),
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


@users.command("unlock")
@config_option
@click.argument("login")
def users_unlock(config: str | None, login: str) -> None:
    """Lift every block that wrong passwords or codes put on LOGIN's account (by username,
    email or sub), from every address."""

    async def work(store: Store) -> str:
        found = await store.users.find_by_login(login) or await store.users.get(login)
        if found is None:
            raise click.ClickException(f"no user {login}")
        cleared = await unlock(store, found.id)
        await audit(store, "unlocked", subject=found.id, by="operator", keys=cleared)
        return f"unlocked {found.username} ({cleared} blocks and counts cleared)"

    click.echo(_with_store(_settings(config), work))


@main.group()
def clients() -> None:
    """Inspect clients."""


@clients.command("list")
@config_option
def clients_list(config: str | None) -> None:
    """The clients in the config: id, auth method, flow, redirect URIs."""
    rows = [[c.client_id, c.token_endpoint_auth_method, c.flow or "(default)",
             " ".join(c.redirect_uris)] for c in _settings(config).clients]
    for line in _table(["CLIENT ID", "AUTH METHOD", "FLOW", "REDIRECT URIS"], rows):
        click.echo(line)


@clients.command("token")
@config_option
@click.option("--expires-in", type=click.IntRange(60, 30 * 24 * 3600), default=24 * 3600,
              show_default=True, help="Seconds the token may be used.")
def clients_token(config: str | None, expires_in: int) -> None:
    """Print a new initial access token: one client may register with it (RFC 7591), with any
    metadata, once. Only its digest is stored."""
    settings = _settings(config)
    token = secrets.token_urlsafe(32)

    async def add(store: Store) -> None:
        await store.initial_access_tokens.add(InitialAccessTokenRecord(
            id=digest(token), expires_at=time.time() + expires_in))

    _with_store(settings, add)
    click.echo(token)


@main.group()
def keys() -> None:
    """Signing keys (list, rotate) and keys that seal secrets at rest."""


@keys.command("list")
@config_option
def keys_list(config: str | None) -> None:
    """Every key: kid, algorithm, whether it signs now, when it signs from and until, and until
    when it is published (a retiring key still verifies the tokens it signed)."""
    settings = _settings(config)

    async def show(store: Store) -> list[list[str]]:
        await KeyRing.load(store, await sealer_for(settings, store))
        return key_rows(await store.keys.all(), time.time())

    header = ["KID", "ALG", "STATE", "SIGNS FROM", "SIGNS UNTIL", "PUBLISHED UNTIL"]
    for line in _table(header, _with_store(settings, show)):
        click.echo(line)


def _when(at: float | None) -> str:
    return "-" if at is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


def key_rows(records: list[SigningKeyRecord], now: float) -> list[list[str]]:
    """What each key does, in the order the key ring chooses signers: a key signs from its
    activation (a first key: its creation) until the next key of its algorithm activates."""
    ordered = sorted(records, key=lambda r: (r.alg, r.activates_at, r.created_at, r.kid))
    rows = []
    for index, key in enumerate(ordered):
        later = ordered[index + 1] if index + 1 < len(ordered) else None
        until = later.activates_at if later is not None and later.alg == key.alg else None
        since = max(key.activates_at, key.created_at)  # a first key activates at 0
        if key.retires_at is not None and key.retires_at <= now:
            state = "retired"
        elif key.activates_at > now:
            state = "next"
        elif until is not None and until <= now:
            state = "retiring"  # published so that the tokens it signed still verify
        else:
            state = "signing"
        rows.append([key.kid, key.alg, state, _when(since), _when(until), _when(key.retires_at)])
    return rows


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
        sealer = await sealer_for(settings, store)
        await KeyRing.load(store, sealer)
        algs = SUPPORTED_ALGS if alg == "all" else (alg,)
        done = [await rotate(store, sealer, a, activate_in, tokens_live) for a in algs]
        return [f"{k.alg}: next key {k.kid} signs from {_when(k.activates_at)} (in"
                f" {activate_in:.0f} s); the current one signs until then and stays published"
                f" until {_when(k.activates_at + tokens_live)}" for k in done]

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
    """Check FILE (default: the config's flows file); every problem with file:line:column.
    Without a config, FILE's federated steps can offer no upstream provider."""
    upstreams: dict[str, Upstream] = {}
    if file and not config_path(config).exists():
        path = file
    else:
        settings = _settings(config)
        path = file or str(settings.path(settings.flows_file))
        upstreams = upstreams_for(settings.issuer, settings.upstream_providers, OutboundHttp())
    try:
        loaded = load_flows(path)
        check_offered(loaded, upstreams)
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
    """Write every live document of the store to FILE as JSON lines (signing keys sealed, and
    secrets: keep the file as safe as the store; it is created readable by its owner only)."""
    settings = _settings(config)

    async def work(store: Store) -> int:
        await seal_stored_keys(store, await sealer_for(settings, store))  # never a clear key out
        count = 0
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        os.fchmod(fd, 0o600)  # an existing file too: it is about to hold private keys
        with open(fd, "w", encoding="utf-8") as out:
            async for line in export_lines(store, time.time()):
                out.write(line + "\n")
                count += 1
        return count

    count = _with_store(settings, work)
    click.echo(f"exported {count} documents to {file}")


@main.command("import")
@config_option
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--dry-run", is_flag=True, help="Check the file and report; store nothing.")
def import_cmd(config: str | None, file: TextIO, dry_run: bool) -> None:
    """Add the documents of FILE (from `gatehouse export`) to the configured store. Documents the
    store already has are left as they are, so importing twice is safe. Signing keys are sealed
    under the first of `credential_keys`, which must list the key the source sealed them with."""
    settings = _settings(config)

    async def work(store: Store) -> ImportReport:
        report = await import_lines(store, file, time.time(), dry_run)
        if not dry_run:  # after the import: it may bring the source's stored credential key
            await seal_stored_keys(store, await sealer_for(settings, store))
        return report

    report = _with_store(settings, work)
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

    async def work(store: Store) -> list[str] | None:
        found = await store.users.find_by_login(user) or await store.users.get(user)
        # A removed user's events are still found by their sub.
        events = await store.audit.for_subject(found.id if found else user, time.time(), limit)
        if found is None and not events:
            return None
        return [event.model_dump_json(exclude={"expires_at"}) for event in events]

    lines = _with_store(_settings(config), work)
    if lines is None:
        raise click.ClickException(f"no user {user!r} (by username, email or sub), and no events")
    if not lines:
        click.echo(f"no audit events for {user} (they are kept for audit_retention)", err=True)
    for line in lines:
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
