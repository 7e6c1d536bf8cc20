"""`LdapDirectory` against a real slapd (tests/ldap_server.py): search-then-bind and direct bind,
the stable id, claims and groups, TLS (ldaps:// and StartTLS against the tests' own CA),
failover, and logins and passwords that try to widen a search or bind without a password."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import ldap
import pytest
from pydantic import ValidationError

from federation import (
    AccountBlocked,
    DirectoryUnavailable,
    PasswordExpired,
    PasswordRefused,
    ldap_directory,
)
from federation.ldap_directory import LdapDirectory, LdapUser, _stable_id
from federation.ldap_options import LdapOptions
from federation.ldap_states import refused_bind, unicode_pwd_change, wrong_current_password
from tests.ldap_server import DIRECTORY, GROUPS, PEOPLE, SERVICE, LdapServer, start_slapd
from tests.ports import free_port

ADA_PASSWORD = "ada-password-1"
ENTRY_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LdapServer]:
    server = start_slapd(tmp_path_factory.mktemp("slapd"))
    yield server
    server.stop()


def options(server: LdapServer, **changes: Any) -> LdapOptions:
    return LdapOptions.model_validate({
        "type": "ldap", "servers": [server.url], "bind_dn": SERVICE[0],
        "bind_password": SERVICE[1], "user_base": PEOPLE, "timeout": 3, **changes,
    })


@pytest.fixture
async def directory(slapd: LdapServer) -> AsyncIterator[LdapDirectory]:
    found = LdapDirectory(options(slapd))
    yield found
    found.close()


async def test_a_person_is_found_by_username_or_email_with_claims_and_groups(
    directory: LdapDirectory, slapd: LdapServer,
) -> None:
    ada = await directory.look_up("ada")
    assert isinstance(ada, LdapUser)
    entry_uuid = slapd.admin().search_s(ada.dn, 0, attrlist=["entryUUID"])[0][1]["entryUUID"][0]
    assert ada.id == entry_uuid.decode()  # the stable id, never the DN
    assert ada.username == "ada" and ada.email == "ada@example.com" and ada.email_verified
    assert ada.claims == {"name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace"}
    assert ada.groups == ["engineers", "staff"]
    assert await directory.look_up("ADA@example.com") == ada
    assert await directory.look_up("nobody") is None


async def test_only_the_right_password_binds(directory: LdapDirectory) -> None:
    ada = await directory.look_up("ada")
    assert ada is not None
    assert await directory.verify_password(ada, ADA_PASSWORD) is True
    assert await directory.verify_password(ada, "wrong") is False
    assert await directory.verify_password(ada, "") is False  # never an unauthenticated bind
    assert await directory.look_up("grace") is not None  # the service account searches again


@pytest.mark.parametrize("login", [
    "*", "a*", "ad*", "*da", "ada)(uid=*", "*)(|(uid=*", "ada)(|(objectClass=*)", "\\", "\\2a",
    "ada\x00", "\x00", "(", ")", "(uid=ada)", "ada*)(mail=*",
])
async def test_filter_metacharacters_in_a_login_never_widen_the_search(
    directory: LdapDirectory, login: str,
) -> None:
    assert await directory.look_up(login) is None


async def test_a_login_with_a_star_is_matched_exactly(directory: LdapDirectory) -> None:
    star = await directory.look_up("star*")
    assert star is not None and star.username == "star*" and star.email is None
    assert await directory.verify_password(star, "star-password-1") is True


async def test_direct_bind_reads_the_person_with_their_own_rights(slapd: LdapServer) -> None:
    directory = LdapDirectory(options(
        slapd, bind_dn=None, bind_password=None, user_base=None,
        user_dn_template=f"uid={{login}},{PEOPLE}",
    ))
    try:
        typed = await directory.look_up("ada")
        assert isinstance(typed, LdapUser) and typed.dn == f"uid=ada,{PEOPLE}"
        proved = await directory.verify_password(typed, ADA_PASSWORD)
        assert isinstance(proved, LdapUser) and proved.groups == ["engineers", "staff"]
        assert proved.id == ENTRY_UUID.fullmatch(proved.id).group(0)  # type: ignore[union-attr]
        assert proved.claims["name"] == "Ada Lovelace"
        assert await directory.verify_password(typed, "wrong") is False
        escaped = await directory.look_up("ada,ou=people")  # a DN's metacharacters are escaped
        assert isinstance(escaped, LdapUser) and escaped.dn == f"uid=ada\\,ou\\=people,{PEOPLE}"
        assert await directory.verify_password(escaped, ADA_PASSWORD) is False
    finally:
        directory.close()


async def test_groups_from_a_search(slapd: LdapServer) -> None:
    directory = LdapDirectory(options(slapd, groups={
        "source": "search", "base": GROUPS, "filter": "(&(objectClass=groupOfNames)(member={dn}))",
    }))
    try:
        grace = await directory.look_up("grace")
        assert grace is not None and grace.groups == ["staff"]
    finally:
        directory.close()


@pytest.mark.parametrize("tls", ["ldaps", "start_tls"])
async def test_tls_with_the_directorys_ca(slapd: LdapServer, tls: str) -> None:
    over = ({"servers": [slapd.tls_url]} if tls == "ldaps"
            else {"servers": [slapd.url], "start_tls": True})
    trusted = LdapDirectory(options(slapd, ca_file=str(slapd.ca_file), **over))
    untrusted = LdapDirectory(options(slapd, **over))  # the system's CAs do not know it
    try:
        ada = await trusted.look_up("ada")
        assert ada is not None and await trusted.verify_password(ada, ADA_PASSWORD) is True
        with pytest.raises(DirectoryUnavailable):
            await untrusted.look_up("ada")
    finally:
        trusted.close()
        untrusted.close()


async def test_the_next_server_answers_when_one_is_down(slapd: LdapServer) -> None:
    down = f"ldap://127.0.0.1:{free_port()}"
    directory = LdapDirectory(options(slapd, servers=[down, slapd.url]))
    none_up = LdapDirectory(options(slapd, servers=[down]))
    try:
        assert await directory.look_up("ada") is not None
        assert await directory.look_up("grace") is not None  # the pool kept the good one
        with pytest.raises(DirectoryUnavailable, match="no server answered"):
            await none_up.look_up("ada")
    finally:
        directory.close()
        none_up.close()


async def test_a_refused_service_account_is_an_outage(slapd: LdapServer) -> None:
    directory = LdapDirectory(options(slapd, bind_password="not-its-password"))
    try:
        with pytest.raises(DirectoryUnavailable, match="service account"):
            await directory.look_up("ada")
    finally:
        directory.close()


@pytest.mark.parametrize(("changes", "complaint"), [
    ({"servers": ["ldap://ldap.example.com"]}, "in clear"),
    ({"servers": ["http://127.0.0.1"]}, "ldaps:// or ldap://"),
    ({"user_dn_template": "uid={login},o=x"}, "either user_base"),
    ({"user_filter": "(uid=ada)"}, "must hold {login}"),
    ({"bind_password": None}, "go together"),
    ({"groups": {"source": "search"}}, "needs a base"),
])
def test_unsafe_or_incomplete_settings_are_refused(
    slapd: LdapServer, changes: dict[str, Any], complaint: str,
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        options(slapd, **changes)


def test_plain_ldap_is_allowed_to_this_machine_or_with_start_tls(slapd: LdapServer) -> None:
    assert options(slapd, servers=["ldap://localhost:389"]).plain_servers == ["ldap://localhost:389"]
    assert options(slapd, servers=["ldap://ldap.example.com"], start_tls=True).plain_servers == []



def test_active_directory_ids_are_objectguids_written_as_guids() -> None:
    guid = uuid.UUID("0e2f5d5c-1b7a-4c3e-9d2f-3a4b5c6d7e8f")
    assert _stable_id("objectGUID", guid.bytes_le) == str(guid)  # little-endian fields first
    assert _stable_id("entryUUID", b"36e80e4e-8621-1041-9c9d-d96e9da0f1af") == (
        "36e80e4e-8621-1041-9c9d-d96e9da0f1af")
    ad = LdapOptions.model_validate({
        "type": "ldap", "flavor": "active_directory", "servers": ["ldaps://dc1.corp.example"],
        "user_base": "DC=corp,DC=example"})
    assert (ad.stable_id, ad.username) == ("objectGUID", "sAMAccountName")
    assert "(sAMAccountName={login})" in ad.login_filter


# What the directory says beyond right and wrong (federation/ldap_states.py)


async def right_password(directory: LdapDirectory, login: str) -> LdapUser:
    found = await directory.look_up(login)
    assert isinstance(found, LdapUser), login
    return found


async def test_locked_and_disabled_accounts_are_said_so_with_the_right_password(
    directory: LdapDirectory,
) -> None:
    lou, dee = await right_password(directory, "lou"), await right_password(directory, "dee")
    for person, password, state in ((lou, "lou-password-1", "locked"),
                                    (dee, "dee-password-1", "disabled")):
        with pytest.raises(AccountBlocked) as blocked:
            await directory.verify_password(person, password)
        assert blocked.value.state == state


async def test_a_password_to_change_after_a_reset_is_changed_in_the_directory(
    directory: LdapDirectory,
) -> None:
    rita = await right_password(directory, "rita")
    with pytest.raises(PasswordExpired) as expired:
        await directory.verify_password(rita, "rita-password-1")
    assert expired.value.user == rita
    assert await directory.verify_password(rita, "wrong") is False
    assert await directory.change_password(rita, "wrong", "rita-password-2") is False
    assert await directory.change_password(rita, "rita-password-1", "rita-password-2") is True
    assert await directory.verify_password(rita, "rita-password-2") is True
    with pytest.raises(PasswordRefused):  # pwdInHistory: 2
        await directory.change_password(rita, "rita-password-2", "rita-password-1")
    assert await directory.verify_password(rita, "rita-password-1") is False


async def test_an_expired_password_is_changed_on_a_grace_bind_or_needs_an_administrator(
    directory: LdapDirectory, slapd: LdapServer,
) -> None:
    time.sleep(max(0.0, slapd.started + 2.5 - time.monotonic()))  # pwdMaxAge: 1
    olive, pat = await right_password(directory, "olive"), await right_password(directory, "pat")
    with pytest.raises(PasswordExpired):
        await directory.verify_password(olive, "olive-password-1")
    assert await directory.change_password(olive, "olive-password-1", "olive-password-2")
    assert await directory.verify_password(olive, "olive-password-2") is True
    with pytest.raises(AccountBlocked) as blocked:  # no grace binds: nobody can bind to change it
        await directory.verify_password(pat, "pat-password-1")
    assert blocked.value.state == "password_expired"


async def test_active_directory_accounts_emulated_on_slapd(slapd: LdapServer) -> None:
    directory = LdapDirectory(options(slapd, flavor="active_directory",
                                      claims={"name": "cn"}))
    try:
        adam = await right_password(directory, "adam")
        assert adam.id == str(uuid.UUID(bytes_le=bytes(range(16))))  # objectGUID, as a GUID
        assert adam.username == "adam" and adam.groups == ["staff"]
        assert await directory.verify_password(adam, "adam-password-1") is True
        assert await directory.look_up("ada") is None  # not an AD user: the AD filter
        ben, eve = await right_password(directory, "ben"), await right_password(directory, "eve")
        assert await directory.verify_password(ben, "wrong") is False  # tells a guesser nothing
        for person, password, state in ((ben, "ben-password-1", "disabled"),
                                        (eve, "eve-password-1", "expired")):
            with pytest.raises(AccountBlocked) as blocked:
                await directory.verify_password(person, password)
            assert blocked.value.state == state
    finally:
        directory.close()


@pytest.mark.parametrize(("info", "said"), [
    ("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563",
     None),
    ("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 532, v4563",
     "must_change"),
    ("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 533, v4563",
     "disabled"),
    ("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 701, v4563",
     "expired"),
    ("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 773, v4563",
     "must_change"),
    ("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 775, v4563",
     "locked"),
])
def test_active_directorys_bind_sub_codes(info: str, said: str | None) -> None:
    refused = ldap.INVALID_CREDENTIALS({"result": 49, "desc": "Invalid credentials", "info": info})
    assert refused_bind(refused) == said


def test_active_directorys_password_change_is_one_modify_in_utf16() -> None:
    assert unicode_pwd_change("old", "new") == [
        (ldap.MOD_DELETE, "unicodePwd", ['"old"'.encode("utf-16-le")]),
        (ldap.MOD_ADD, "unicodePwd", ['"new"'.encode("utf-16-le")]),
    ]
    wrong = ldap.CONSTRAINT_VIOLATION({"info": "00000056: AtrErr: DSID-03190F80, #1: ..."})
    assert wrong_current_password(wrong)
    policy = ldap.CONSTRAINT_VIOLATION({"info": "0000052D: Constraint violation - check_password"})
    assert not wrong_current_password(policy)


async def test_everyone_is_listed_in_pages(
    directory: LdapDirectory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ldap_directory, "PEOPLE_PAGE", 3)
    pages = [page async for page in directory.people()]
    names = sorted(p.username for page in pages for p in page)
    assert names == sorted(p.uid for p in DIRECTORY)
    assert [len(page) for page in pages][:-1] == [3] * (len(pages) - 1) and len(pages) > 2
    assert await directory.look_up("ada") is not None  # the pool is unaffected
