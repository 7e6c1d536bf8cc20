"""`gatehouse users`: add, import, sync (from a user directory), list, show, and what an
administrator does to an account (disable, enable, delete, set-password, send-reset, reset-mfa,
unlock), as the admin API does it."""

from __future__ import annotations

import getpass
import io
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path

import click

from admin import (
    Actor,
    create_user,
    delete_user,
    disable_user,
    enable_user,
    find_user,
    reset_second_factors,
    send_password_reset,
    set_password,
    sync_directory,
    unlock_user,
    user_detail,
)
from oidc import Provider
from server.cli_support import (
    Commands,
    config_option,
    echo_json,
    echo_table,
    json_option,
    operator,
    settings_of,
    when,
    with_provider,
    with_store,
)
from steps import format_of
from store import FileFormat, UserRecord, import_users

MAX_LISTED = 1000


@click.group(cls=Commands)
def users() -> None:
    """Manage users."""


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != password:
        raise click.ClickException("the passwords differ")
    return password


@users.command("add")
@config_option
@click.argument("username")
@click.option("--email", help="The user's email address.")
@click.option("--name", help="The user's full name (the `name` claim).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--group", "groups", multiple=True,
              help="A group the user is in (again for more); admin_group's may use /admin.")
@click.option("--if-missing", is_flag=True, help="Do nothing if the username exists.")
@json_option
def users_add(
    config: str | None, username: str, email: str | None, name: str | None,
    password_stdin: bool, groups: tuple[str, ...], if_missing: bool, as_json: bool,
) -> None:
    """Add a user; the password is asked for (or read from stdin), checked against the policy of
    the sign-up and reset pages, and stored as argon2id."""
    if "@" in username:
        raise click.BadParameter("a username cannot contain @ (that is how emails are told apart)")
    settings = settings_of(config)
    password = _password(password_stdin)

    async def add(provider: Provider) -> str | None:
        if if_missing and await provider.store.users.find_by_login(username):
            return None
        # The operator vouches for the address.
        user = await create_user(provider, operator(), username, email, email is not None, name,
                                 list(groups), password)
        if as_json:
            echo_json(await user_detail(provider, user))
        return f"added user {username} (sub {user.id})"

    said = with_provider(settings, add)
    if said is None:
        click.echo(f"user {username} exists; left as it is")
    elif not as_json:
        click.echo(said)


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
    report = with_store(settings_of(config), lambda store: import_users(
        store, lines, fmt, lambda hashed: format_of(hashed) is not None, time.time(), dry_run
    ))
    click.echo(f"{'would add' if dry_run else 'added'} {report.imported['users']} users; skipped"
               f" {report.present} that exist already; refused {len(report.problems)}")
    for problem in report.problems:
        click.echo(problem, err=True)
    if report.problems:
        raise click.ClickException(f"{len(report.problems)} lines not imported")


@users.command("sync")
@config_option
@click.argument("directory")
@json_option
def users_sync(config: str | None, directory: str, as_json: bool) -> None:
    """Make or refresh the local record of everyone DIRECTORY (one of gatehouse.yaml's
    `directories`) would sign in, ahead of their first sign-in."""

    async def work(provider: Provider) -> None:
        report = await sync_directory(provider, operator(), directory)
        if as_json:
            echo_json(asdict(report))
            return
        click.echo(f"{directory}: {report.listed} people; {report.created} added,"
                   f" {report.refreshed} refreshed, {report.refused} refused (a local account"
                   " holds their username)")

    with_provider(settings_of(config), work)


@users.command("list")
@config_option
@click.option("--search", "text", help="Only users whose username, email or name holds TEXT.")
@click.option("--limit", type=click.IntRange(1, MAX_LISTED), default=100, show_default=True)
@json_option
def users_list(config: str | None, text: str | None, limit: int, as_json: bool) -> None:
    """Users, newest first."""

    async def work(provider: Provider) -> None:
        found = await provider.store.users.search(text, limit)
        details = [await user_detail(provider, user) for user in found]
        if as_json:
            echo_json({"items": [d.model_dump(mode="json") for d in details]})
            return
        echo_table(["USERNAME", "EMAIL", "NAME", "GROUPS", "STATUS", "SUB"], [
            [u.username, u.email or "-", u.name or "-", ",".join(u.groups) or "-",
             "disabled" if u.disabled else "blocked" if u.blocked_until else "active", u.id]
            for u in details
        ])
        if len(found) == limit:
            click.echo(f"(the first {limit}: narrow with --search or raise --limit)", err=True)

    with_provider(settings_of(config), work)


@users.command("show")
@config_option
@click.argument("login")
@json_option
def users_show(config: str | None, login: str, as_json: bool) -> None:
    """LOGIN's account (by username, email or sub): attributes, sign-in methods, sessions."""

    async def work(provider: Provider) -> None:
        user = await find_user(provider, login)
        detail = await user_detail(provider, user)
        sessions = await provider.store.sessions.for_subject(user.id, provider.clock())
        if as_json:
            echo_json({**detail.model_dump(mode="json"), "sessions": len(sessions)})
            return
        status = f"disabled since {when(detail.disabled_at)}" if detail.disabled else "active"
        if detail.blocked_until:
            status += f"; sign-in attempts blocked until {when(detail.blocked_until)}"
        echo_table(["FIELD", "VALUE"], [
            ["sub", detail.id], ["username", detail.username], ["email", detail.email or "-"],
            ["email verified", "yes" if detail.email_verified else "no"],
            ["name", detail.name or "-"], ["groups", ",".join(detail.groups) or "-"],
            ["password", "directory" if detail.in_directory else
             "set" if detail.has_password else "none"],
            ["linked", ",".join(detail.linked_identities) or "-"],
            ["sessions", str(len(sessions))], ["status", status],
            ["created", when(detail.created_at)],
        ])
        if detail.credentials:
            click.echo()
            echo_table(["CREDENTIAL", "KIND", "NAME", "ADDED", "LAST USED"], [
                [c.id, c.kind, c.name, when(c.created_at), when(c.last_used_at)]
                for c in detail.credentials
            ])

    with_provider(settings_of(config), work)


Change = Callable[[Provider, Actor, UserRecord], Awaitable[object]]


def _account_change(verb: str, change: Change, done: str, about: str) -> click.Command:
    """`users VERB LOGIN`: `change` (an operation of the admin API) applied to LOGIN."""

    @config_option
    @click.argument("login")
    @json_option
    def command(config: str | None, login: str, as_json: bool) -> None:
        async def work(provider: Provider) -> None:
            user = await find_user(provider, login)
            result = await change(provider, operator(), user)
            if as_json:
                echo_json(await user_detail(provider, await find_user(provider, user.id)))
            else:
                count = f" ({result})" if isinstance(result, int) else ""
                click.echo(f"{user.username}: {done}{count}")

        with_provider(settings_of(config), work)

    return click.command(verb, help=about)(command)


for each in (
    _account_change("disable", disable_user,
                    "disabled; sessions ended (back-channel logout sent), grants revoked",
                    "Disable LOGIN (username, email or sub): no more sign-ins; every session"
                    " ends."),
    _account_change("enable", enable_user, "enabled", "Enable LOGIN again."),
    _account_change("send-reset", send_password_reset,
                    "a link to choose a new password was emailed (it works once, for a day)",
                    "Email LOGIN a link to choose a new password; earlier links stop working."),
    _account_change("reset-mfa", reset_second_factors,
                    "second factors removed; they set one up at their next sign-in",
                    "Remove every second factor of LOGIN: authenticator apps, passkeys,"
                    " recovery codes."),
    _account_change("unlock", unlock_user, "sign-in blocks and counts cleared",
                    "Lift every block that wrong passwords or codes put on LOGIN's account,"
                    " from every address."),
):
    users.add_command(each)


@users.command("set-password")
@config_option
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_set_password(config: str | None, login: str, password_stdin: bool) -> None:
    """Set LOGIN's password, checked against the policy of the sign-up and reset pages."""
    settings = settings_of(config)
    password = _password(password_stdin)

    async def work(provider: Provider) -> str:
        user = await find_user(provider, login)
        await set_password(provider, operator(), user, password)
        return f"{user.username}: password set"

    click.echo(with_provider(settings, work))


@users.command("delete")
@config_option
@click.argument("login")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def users_delete(config: str | None, login: str, yes: bool) -> None:
    """Delete LOGIN, with their sign-in methods, sessions (back-channel logout sent), consents
    and grants. Their audit events stay, by sub."""
    if not yes and not click.confirm(f"Delete {login} for good?", err=True):
        raise click.ClickException("not deleted")

    async def work(provider: Provider) -> str:
        user = await find_user(provider, login)
        await delete_user(provider, operator(), user)
        return f"deleted {user.username} (sub {user.id})"

    click.echo(with_provider(settings_of(config), work))
