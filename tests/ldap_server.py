"""A real OpenLDAP server for the directory tests: Debian's slapd on free loopback ports, with a
generated configuration, a CA and certificate of the tests' own (trustme) for ldaps:// and
StartTLS, the memberof and ppolicy overlays, a small schema with Active Directory's account
attributes (`AD_SCHEMA`, to emulate AD where slapd can), and a directory of people, groups and
password policies added through the protocol (so that the overlays do their part)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import ldap
import ldap.modlist
import trustme

from tests.ports import free_port
from tests.processes import stop

SLAPD = "/usr/sbin/slapd"
BASE = "dc=example,dc=com"
ADMIN = (f"cn=admin,{BASE}", "admin-secret")
SERVICE = (f"cn=gatehouse,ou=services,{BASE}", "service-secret-1")
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"

# Active Directory's names for what Gatehouse reads of an AD account, under OpenLDAP's
# experimental OID arc; `user` is auxiliary here (AD's is structural).
AD_SCHEMA = """\
attributetype ( 1.3.6.1.4.1.4203.666.11.1 NAME 'sAMAccountName' EQUALITY caseIgnoreMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.4203.666.11.2 NAME 'userAccountControl' EQUALITY integerMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.4203.666.11.3 NAME 'accountExpires' EQUALITY integerMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.4203.666.11.4 NAME 'objectGUID' EQUALITY octetStringMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.4203.666.11.5 NAME 'objectCategory' EQUALITY caseIgnoreMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.4203.666.11.6 NAME 'userPrincipalName' EQUALITY caseIgnoreMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.4203.666.11.100 NAME 'user' AUXILIARY
  MAY ( sAMAccountName $ userAccountControl $ accountExpires $ objectGUID $ objectCategory $
        userPrincipalName ) )
"""
POLICIES = f"ou=policies,{BASE}"
# Password policies (slapo-ppolicy) that people can be put under.
POLICY_SETTINGS = {
    "lockable": {"pwdLockout": "TRUE", "pwdMaxFailure": "3", "pwdLockoutDuration": "0"},
    "reset": {"pwdMustChange": "TRUE", "pwdAllowUserChange": "TRUE", "pwdInHistory": "2"},
    "expiring": {"pwdMaxAge": "1", "pwdGraceAuthNLimit": "3", "pwdAllowUserChange": "TRUE"},
    "expired": {"pwdMaxAge": "1", "pwdGraceAuthNLimit": "0"},
}

SLAPD_CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include {home}/ad.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload ppolicy
pidfile {home}/slapd.pid
argsfile {home}/slapd.args
TLSCACertificateFile {home}/ca.pem
TLSCertificateFile {home}/server.pem
TLSCertificateKeyFile {home}/server.key

database mdb
suffix "{base}"
rootdn "{admin}"
rootpw {admin_password}
directory {home}/data
maxsize 104857600
index objectClass,uid,mail,member eq

overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf

overlay ppolicy
ppolicy_use_lockout

access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to *
  by dn.exact="{service}" read
  by self read
  by * none
"""


@dataclass
class Person:
    uid: str
    password: str
    cn: str
    mail: str | None = None
    groups: list[str] = field(default_factory=list)
    policy: str | None = None  # one of POLICY_SETTINGS
    extra: dict[str, list[str | bytes]] = field(default_factory=dict)  # more attributes

    @property
    def dn(self) -> str:
        return f"uid={ldap.dn.escape_dn_chars(self.uid)},{PEOPLE}"


PAST_FILETIME = "116444736000000000"  # 1970-01-01 in Windows FILETIME: long expired
DIRECTORY = [
    Person("ada", "ada-password-1", "Ada Lovelace", "ada@example.com", ["engineers", "staff"]),
    Person("grace", "grace-password-1", "Grace Hopper", "grace@example.com", ["staff"]),
    Person("star*", "star-password-1", "Star Name", None, ["contractors"]),
    Person("leaver", "leaver-password-1", "Lee Leaver", "leaver@example.com", ["staff"]),
    # OpenLDAP's password policies
    Person("lou", "lou-password-1", "Lou Locked", policy="lockable",
           extra={"pwdAccountLockedTime": ["20260101000000Z"]}),
    Person("dee", "dee-password-1", "Dee Disabled", policy="lockable",
           extra={"pwdAccountLockedTime": ["000001010000Z"]}),
    Person("rita", "rita-password-1", "Rita Reset", "rita@example.com", ["staff"],
           policy="reset", extra={"pwdReset": ["TRUE"]}),
    Person("olive", "olive-password-1", "Olive Old", policy="expiring"),
    Person("pat", "pat-password-1", "Pat Past", policy="expired"),
    # Active Directory's account attributes, emulated
    Person("adam", "adam-password-1", "Adam Active", "adam@example.com", ["staff"], extra={
        "objectClass": ["user"], "sAMAccountName": ["adam"], "objectCategory": ["person"],
        "userAccountControl": ["512"], "objectGUID": [bytes(range(16))]}),
    Person("ben", "ben-password-1", "Ben Disabled", extra={
        "objectClass": ["user"], "sAMAccountName": ["ben"], "objectCategory": ["person"],
        "userAccountControl": ["514"], "objectGUID": [bytes(range(1, 17))]}),
    Person("eve", "eve-password-1", "Eve Expired", extra={
        "objectClass": ["user"], "sAMAccountName": ["eve"], "objectCategory": ["person"],
        "userAccountControl": ["512"], "accountExpires": [PAST_FILETIME],
        "objectGUID": [bytes(range(2, 18))]}),
]


@dataclass
class LdapServer:
    home: Path
    port: int
    tls_port: int
    ca_file: Path
    process: subprocess.Popen[bytes]
    started: float = field(default_factory=time.monotonic)  # password ages count from here

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.tls_port}"

    def admin(self) -> ldap.ldapobject.LDAPObject:
        handle = ldap.initialize(self.url, bytes_mode=False)
        handle.simple_bind_s(*ADMIN)
        return handle

    def stop(self) -> None:
        stop(self.process)


def _certificates(home: Path) -> Path:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    ca.cert_pem.write_to_path(str(home / "ca.pem"))
    cert.private_key_pem.write_to_path(str(home / "server.key"))
    cert.cert_chain_pems[0].write_to_path(str(home / "server.pem"))
    for chained in cert.cert_chain_pems[1:]:
        chained.write_to_path(str(home / "server.pem"), append=True)
    return home / "ca.pem"


def start_slapd(home: Path, people: Iterable[Person] = DIRECTORY) -> LdapServer:
    """slapd on two free loopback ports (ldap:// with StartTLS, and ldaps://), filled with
    `people`, their groups, and the service account Gatehouse searches with."""
    if not Path(SLAPD).exists():
        raise RuntimeError("slapd is missing: bash scripts/install.sh --test installs it")
    shutil.rmtree(home, ignore_errors=True)
    (home / "data").mkdir(parents=True)
    ca_file = _certificates(home)
    (home / "ad.schema").write_text(AD_SCHEMA)
    (home / "slapd.conf").write_text(SLAPD_CONF.format(
        home=home, base=BASE, admin=ADMIN[0], admin_password=ADMIN[1], service=SERVICE[0]))
    port, tls_port = free_port(), free_port()
    log = (home / "slapd.log").open("wb")
    process = subprocess.Popen(
        [SLAPD, "-d", "0", "-f", str(home / "slapd.conf"),
         "-h", f"ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{tls_port}/"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    server = LdapServer(home, port, tls_port, ca_file, process)
    deadline = time.monotonic() + 20
    while True:
        try:
            admin = server.admin()
            break
        except ldap.SERVER_DOWN as exc:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                log_text = (home / "slapd.log").read_text()
                raise RuntimeError(f"slapd did not start: {log_text}") from exc
            time.sleep(0.1)
    try:
        _fill(admin, list(people))
    finally:
        admin.unbind_s()
    server.started = time.monotonic()
    return server


def _add(
    handle: ldap.ldapobject.LDAPObject, dn: str, attrs: dict[str, list[str | bytes]]
) -> None:
    handle.add_s(dn, ldap.modlist.addModlist({
        name: [v if isinstance(v, bytes) else v.encode() for v in values]
        for name, values in attrs.items()
    }))


def _fill(handle: ldap.ldapobject.LDAPObject, people: list[Person]) -> None:
    _add(handle, BASE, {"objectClass": ["dcObject", "organization"], "dc": ["example"],
                        "o": ["Example"]})
    for unit in ("people", "groups", "services", "policies"):
        _add(handle, f"ou={unit},{BASE}", {"objectClass": ["organizationalUnit"], "ou": [unit]})
    _add(handle, SERVICE[0], {"objectClass": ["organizationalRole", "simpleSecurityObject"],
                              "cn": ["gatehouse"], "userPassword": [SERVICE[1]]})
    for policy, settings in POLICY_SETTINGS.items():
        _add(handle, f"cn={policy},{POLICIES}", {
            "objectClass": ["organizationalRole", "pwdPolicy"], "cn": [policy],
            "pwdAttribute": ["userPassword"], **{k: [v] for k, v in settings.items()},
        })
    for person in people:
        given, _, family = person.cn.partition(" ")
        attrs: dict[str, list[str | bytes]] = {
            "objectClass": ["inetOrgPerson"], "uid": [person.uid], "cn": [person.cn],
            "sn": [family or given], "givenName": [given], "userPassword": [person.password],
        }
        if person.mail:
            attrs["mail"] = [person.mail]
        if person.policy:
            attrs["pwdPolicySubentry"] = [f"cn={person.policy},{POLICIES}"]
        for name, values in person.extra.items():
            attrs[name] = attrs.get(name, []) + values
        _add(handle, person.dn, attrs)
    for group in sorted({g for p in people for g in p.groups}):
        members = [p.dn for p in people if group in p.groups]
        _add(handle, f"cn={group},{GROUPS}", {"objectClass": ["groupOfNames"], "cn": [group],
                                               "member": members})
