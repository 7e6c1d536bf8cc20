"""`LdapDirectory` against a real slapd (tests/ldap_server.py): search-then-bind and direct bind,
the stable id, claims and groups, TLS (ldaps:// and StartTLS against the tests' own CA),
failover, and logins and passwords that try to widen a search or bind without a password."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from federation import DirectoryUnavailable
from federation.ldap_directory import LdapDirectory, LdapUser, _stable_id
from federation.ldap_options import LdapOptions
from tests.ldap_server import GROUPS, PEOPLE, SERVICE, LdapServer, start_slapd
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
