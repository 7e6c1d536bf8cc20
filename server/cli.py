"""The `gatehouse` command: serve, keys, flows, export and import, audit, config; the users and
clients commands are in server/cli_users.py and server/cli_clients.py."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any, TextIO

import click

from engine import (
    FlowsError,
    UnknownFlow,
    check_directories,
    check_offered,
    load_flows,
    render_dot,
    render_mermaid,
)
from federation import Upstream, upstreams_for
from observe import MULTIPROC_ENV, configure_logging
from oidc import SUPPORTED_ALGS, KeyRing, rotate, seal_stored_keys
from server.cli_clients import clients
from server.cli_support import (
    Commands,
    config_option,
    echo_json,
    json_option,
    settings_of,
    table,
    when,
    with_store,
)
from server.cli_users import users
from server.sealing import sealer_for
from server.settings import SettingsError, config_path, settings_doc
from store import (
    ImportReport,
    Sealer,
    SigningKeyRecord,
    Store,
    export_lines,
    import_lines,
    is_process_local,
)
from ui import check_templates


@click.group(cls=Commands)
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

    settings = settings_of(config)
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
        # On SIGTERM, requests in flight finish (within request_timeout); new ones are refused.
        "timeout_graceful_shutdown": settings.request_timeout,
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
def keys() -> None:
    """Signing keys (list, rotate) and keys that seal secrets at rest."""


@keys.command("list")
@config_option
@json_option
def keys_list(config: str | None, as_json: bool) -> None:
    """Every key: kid, algorithm, whether it signs now, when it signs from and until, and until
    when it is published (a retiring key still verifies the tokens it signed)."""
    settings = settings_of(config)

    async def show(store: Store) -> list[list[str]]:
        await KeyRing.load(store, await sealer_for(settings, store))
        return key_rows(await store.keys.all(), time.time())

    header = ["KID", "ALG", "STATE", "SIGNS FROM", "SIGNS UNTIL", "PUBLISHED UNTIL"]
    rows = with_store(settings, show)
    if as_json:
        names = [name.lower().replace(" ", "_") for name in header]
        echo_json({"items": [dict(zip(names, row, strict=True)) for row in rows]})
        return
    for line in table(header, rows):
        click.echo(line)


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
        rows.append([key.kid, key.alg, state, when(since), when(until), when(key.retires_at)])
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
    settings = settings_of(config)
    tokens_live = max(settings.id_token_lifetime, settings.access_token_lifetime)

    async def work(store: Store) -> list[str]:
        sealer = await sealer_for(settings, store)
        await KeyRing.load(store, sealer)
        algs = SUPPORTED_ALGS if alg == "all" else (alg,)
        done = [await rotate(store, sealer, a, activate_in, tokens_live) for a in algs]
        return [f"{k.alg}: next key {k.kid} signs from {when(k.activates_at)} (in"
                f" {activate_in:.0f} s); the current one signs until then and stays published"
                f" until {when(k.activates_at + tokens_live)}" for k in done]

    for line in with_store(settings, work):
        click.echo(line)


@main.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--issuer", default="https://login.example.com", show_default=True,
              help="The URL people and applications will reach Gatehouse at.")
def init_cmd(directory: Path, issuer: str) -> None:
    """Write a starter gatehouse.yaml (with generated secrets) and flows.yaml into DIRECTORY, for
    a new installation; files there are never overwritten."""
    from server.starter import write_starter

    try:
        written = write_starter(directory, issuer)
    except FileExistsError as exc:
        raise click.ClickException(f"already there, left as they are: {exc}") from exc
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"next: gatehouse users add YOU --config {written[0]}, then"
               f" gatehouse serve --config {written[0]}")


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
    Without a config, FILE's federated steps can offer no upstream provider, and its password
    steps can name no directory."""
    upstreams: dict[str, Upstream] = {}
    directories: Collection[str] = ()
    if file and not config_path(config).exists():
        path = file
    else:
        settings = settings_of(config)
        path = file or str(settings.path(settings.flows_file))
        upstreams = upstreams_for(
            settings.issuer, settings.upstream_providers, settings.outbound_http()
        )
        directories = settings.directories.keys()
    try:
        loaded = load_flows(path)
        check_offered(loaded, upstreams)
        check_directories(loaded, directories)
        check_templates(loaded)
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
    path = file or str(settings_of(config).path(settings_of(config).flows_file))
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
    settings = settings_of(config)

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

    count = with_store(settings, work)
    click.echo(f"exported {count} documents to {file}")


@main.command("compact")
@config_option
def compact_cmd(config: str | None) -> None:
    """Purge expired documents, then give the embedded store's free space back to the file
    system (SQLite VACUUM, which holds the write lock while it runs: use a quiet moment). A
    MongoDB store reuses freed space by itself, so only the purge is done there."""
    settings = settings_of(config)

    async def work(store: Store) -> int:
        dropped = await store.purge_expired(time.time())
        await store.compact()
        return dropped

    dropped = with_store(settings, work)
    click.echo(f"purged {dropped} expired documents; the store is compacted")


@main.command("backup")
@config_option
@click.argument("file", type=click.Path(dir_okay=False))
def backup_cmd(config: str | None, file: str) -> None:
    """Copy the embedded store to FILE (a new file) while the server serves: SQLite's online
    backup, a consistent snapshot, readable by its owner only. A MongoDB store is backed up with
    mongodump or snapshots (docs/deploy.md)."""
    if Path(file).exists():
        raise click.ClickException(f"{file} exists; a backup goes to a new file")
    settings = settings_of(config)

    async def work(store: Store) -> None:
        try:
            await store.backup(file)
        except NotImplementedError as exc:
            raise click.ClickException(
                "this store is a database server: back it up with mongodump or snapshots"
                " (docs/deploy.md)") from exc

    with_store(settings, work)
    click.echo(f"backed up the store to {file} ({Path(file).stat().st_size} bytes)")


@main.command("import")
@config_option
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--dry-run", is_flag=True, help="Check the file and report; store nothing.")
def import_cmd(config: str | None, file: TextIO, dry_run: bool) -> None:
    """Add the documents of FILE (from `gatehouse export`) to the configured store. Documents the
    store already has are left as they are, so importing twice is safe. Signing keys are sealed
    under the first of `credential_keys`, which must list the key the source sealed them with."""
    settings = settings_of(config)

    async def work(store: Store) -> ImportReport:
        report = await import_lines(store, file, time.time(), dry_run)
        if not dry_run:  # after the import: it may bring the source's stored credential key
            await seal_stored_keys(store, await sealer_for(settings, store))
        return report

    report = with_store(settings, work)
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

    lines = with_store(settings_of(config), work)
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
    settings = settings_of(config)
    click.echo(settings.model_dump_json(
        indent=2, exclude={"metrics_token": True, "clients": {"__all__": {"client_secret"}}}
    ))


main.add_command(users)
main.add_command(clients)

if __name__ == "__main__":
    main()
