"""Throw-away directories on loopback, for the tests and for `make run-directory`.

`Slapd` starts OpenLDAP's slapd as the current user in a temporary folder, with the password
policy overlay (a default policy: minimum length, history, lockout after failed binds), the
service account and its access rights exactly as the README asks of a real deployment, and
demo people. `SambaDC` provisions Samba's Active Directory domain controller the same way
(it needs root). Both speak StartTLS with a certificate from a CA made for the run.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .tls import make_ca

SUFFIX = "dc=example,dc=org"
ROOT_DN = f"cn=admin,{SUFFIX}"
SERVICE_DN = f"cn=sspr,ou=services,{SUFFIX}"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
POLICY_DN = f"cn=default,ou=policies,{SUFFIX}"
STRICT_POLICY_DN = f"cn=strict,ou=policies,{SUFFIX}"
# Passwords that expire after MAX_AGE_DAYS, with GRACE_LOGINS binds allowed after that; and
# the same with no grace (the expiry tests and the password-life benchmark).
EXPIRING_POLICY_DN = f"cn=expiring,ou=policies,{SUFFIX}"
NO_GRACE_POLICY_DN = f"cn=no-grace,ou=policies,{SUFFIX}"
SCOPE_GROUP = f"cn=sspr-users,{GROUPS}"
STAFF_GROUP = f"cn=it-admins,{GROUPS}"

# The default policy of the test directory (also what the demo shows).
MIN_LENGTH = 10
IN_HISTORY = 3
MAX_FAILURES = 3
MAX_AGE_DAYS = 30
GRACE_LOGINS = 2


@dataclass
class Person:
    uid: str
    password: str
    given: str
    surname: str
    mail: str = ""
    phone: str = ""
    groups: tuple[str, ...] = (SCOPE_GROUP,)
    policy: str = ""  # a pwdPolicySubentry other than the default

    @property
    def dn(self) -> str:
        return f"uid={self.uid},{PEOPLE}"


DEMO_PEOPLE = (
    Person("ada", "Ada-Directory-2026", "Ada", "Lovelace", "ada@example.org", "+44 20 7946 0101"),
    Person("grace", "Grace-Directory-2026", "Grace", "Hopper", "grace@example.org"),
    Person(
        "ken",
        "Ken-Directory-2026",
        "Ken",
        "Thompson",
        "ken@example.org",
        "+1 650 253 0000",
        groups=(SCOPE_GROUP, STAFF_GROUP),
    ),
    Person("outsider", "Outsider-Directory-2026", "Otto", "Side", groups=()),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, seconds: float, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the directory stopped at start:\n{log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the directory did not listen within {seconds} s")


def _slapd_binary() -> str:
    for candidate in (shutil.which("slapd"), "/usr/sbin/slapd", "/usr/local/libexec/slapd"):
        if candidate and os.path.exists(candidate):
            return candidate
    raise FileNotFoundError("slapd is not installed (apt-get install slapd ldap-utils)")


def _module_path() -> str:
    for candidate in ("/usr/lib/ldap", "/usr/lib64/openldap", "/usr/local/libexec/openldap"):
        if os.path.exists(os.path.join(candidate, "ppolicy.so")):
            return candidate
    raise FileNotFoundError("the ppolicy module of slapd was not found")


def _schema_dir() -> str:
    for candidate in ("/etc/ldap/schema", "/etc/openldap/schema", "/usr/local/etc/openldap/schema"):
        if os.path.exists(os.path.join(candidate, "inetorgperson.ldif")):
            return candidate
    raise FileNotFoundError("the OpenLDAP schema files were not found")


class _Server:
    """A server process of our own in its own session: stopped with its children, its
    temporary folder removed. Used as a context manager."""

    def _terminate(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def stop(self) -> None:
        self._terminate()
        if getattr(self, "_own_folder", False) and self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


CONFIG = """\
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {folder}/slapd.pid
{tls}
dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: {modules}
olcModuleLoad: back_mdb
olcModuleLoad: ppolicy

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file://{schema}/core.ldif
include: file://{schema}/cosine.ldif
include: file://{schema}/inetorgperson.ldif

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend
olcSizeLimit: 500

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcRootDN: {root_dn}

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {suffix}
olcRootDN: {root_dn}
olcRootPW: {root_pw}
olcDbDirectory: {folder}/data
olcDbMaxSize: 1073741824
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcDbIndex: member eq
olcLimits: dn.exact="{service_dn}" size.soft=500 size.hard=unlimited size.prtotal=unlimited
olcAccess: {{0}}to attrs=userPassword by self write by dn.exact="{service_dn}" write
  by anonymous auth by * none
olcAccess: {{1}}to attrs=pwdAccountLockedTime,pwdFailureTime,pwdReset
  by dn.exact="{service_dn}" manage by self read by * none
olcAccess: {{2}}to * by dn.exact="{service_dn}" read by self read by * none

dn: olcOverlay={{0}}ppolicy,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {{0}}ppolicy
olcPPolicyDefault: {policy_dn}
olcPPolicyHashCleartext: TRUE
olcPPolicyUseLockout: TRUE
"""

TLS = """olcTLSCACertificateFile: {ca}
olcTLSCertificateFile: {cert}
olcTLSCertificateKeyFile: {key}
"""


def _entry(dn: str, attrs: dict[str, list[str] | str]) -> tuple[str, list]:
    return dn, [
        (name, [v.encode() for v in ([values] if isinstance(values, str) else values)])
        for name, values in attrs.items()
    ]


@dataclass
class Slapd(_Server):
    """A slapd of our own on a free loopback port. Use as a context manager."""

    people: tuple[Person, ...] = DEMO_PEOPLE
    tls: bool = True
    folder: Path | None = None
    port: int = 0
    root_password: str = "root-secret"
    service_password: str = "service-secret"
    process: subprocess.Popen | None = field(default=None, repr=False)
    ca: dict[str, Path] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        """The settings a site uses to talk to this directory, as environment variables."""
        env = {
            "SSPR_DIRECTORY": "openldap",
            "LDAP_URI": self.uri,
            "LDAP_BIND_DN": SERVICE_DN,
            "LDAP_BIND_PASSWORD": self.service_password,
            "LDAP_USER_BASE": PEOPLE,
            "LDAP_GROUP_BASE": GROUPS,
            "LDAP_SCOPE_GROUP": SCOPE_GROUP,
            "LDAP_STAFF_GROUP": STAFF_GROUP,
            "LDAP_START_TLS": "1" if self.tls else "0",
            "LDAP_PASSWORD_POLICY_DN": POLICY_DN,
        }
        if self.tls:
            env["LDAP_CA_FILE"] = str(self.ca["ca"])
        return env

    def start(self) -> Slapd:
        self._own_folder = self.folder is None
        self.folder = Path(self.folder or tempfile.mkdtemp(prefix="sspr-slapd-"))
        (self.folder / "data").mkdir(parents=True, exist_ok=True)
        (self.folder / "slapd.d").mkdir(exist_ok=True)
        self.port = self.port or free_port()
        if self.tls:
            self.ca = make_ca(self.folder / "tls")
        config = CONFIG.format(
            folder=self.folder,
            modules=_module_path(),
            schema=_schema_dir(),
            suffix=SUFFIX,
            root_dn=ROOT_DN,
            root_pw=self.root_password,
            service_dn=SERVICE_DN,
            policy_dn=POLICY_DN,
            tls=TLS.format(**self.ca) if self.tls else "",
        )
        (self.folder / "config.ldif").write_text(config)
        slapadd = shutil.which("slapadd") or "/usr/sbin/slapadd"
        subprocess.run(  # noqa: S603  (a fixed binary and our own files)
            [
                slapadd,
                "-n0",
                "-F",
                str(self.folder / "slapd.d"),
                "-l",
                str(self.folder / "config.ldif"),
            ],
            check=True,
            capture_output=True,
        )
        self._launch()
        self._load()
        return self

    def _launch(self) -> None:
        log = self.folder / "slapd.log"
        with log.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603  (a fixed binary and our own files)
                [_slapd_binary(), "-F", str(self.folder / "slapd.d"), "-h", self.uri, "-d", "0"],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_for_port(self.port, self.process, 10, log)

    def load_many_offline(self, count: int, start: int = 0, expiring: bool = False) -> None:
        """Add `count` people quickly: slapd stops, slapadd writes them, slapd starts again.
        For the sync benchmark (a hundred thousand entries in seconds). `expiring`: under the
        expiring policy, their passwords set over the last MAX_AGE_DAYS days."""
        self._terminate()
        ldif = self.folder / "many.ldif"
        with ldif.open("w") as out:
            for n in range(start, start + count):
                out.write(
                    f"dn: uid=p{n:07d},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: p{n:07d}\n"
                    f"cn: Person {n}\ngivenName: Person\nsn: N{n}\nmail: p{n}@example.org\n"
                    f"telephoneNumber: +44 20 7946 {n % 10000:04d}\n"
                )
                if expiring:
                    changed = time.gmtime(time.time() - (n * 997) % (MAX_AGE_DAYS * 86400))
                    out.write(
                        f"pwdPolicySubentry: {EXPIRING_POLICY_DN}\n"
                        f"pwdChangedTime: {time.strftime('%Y%m%d%H%M%SZ', changed)}\n"
                    )
                out.write("\n")
        slapadd = shutil.which("slapadd") or "/usr/sbin/slapadd"
        subprocess.run(  # noqa: S603  (a fixed binary and our own files)
            [slapadd, "-q", "-n1", "-F", str(self.folder / "slapd.d"), "-l", str(ldif)],
            check=True,
            capture_output=True,
        )
        ldif.unlink()
        self._launch()

    def connect(self, dn: str = ROOT_DN, password: str | None = None):
        import ldap

        conn = ldap.initialize(self.uri)
        conn.set_option(ldap.OPT_NETWORK_TIMEOUT, 5)
        conn.simple_bind_s(dn, self.root_password if password is None else password)
        return conn

    def _load(self) -> None:
        conn = self.connect()
        try:
            for dn, attrs in self._base_entries():
                conn.add_s(dn, attrs)
            self.add_people(conn, self.people)
        finally:
            conn.unbind_s()

    def _base_entries(self):
        yield _entry(
            SUFFIX, {"objectClass": ["dcObject", "organization"], "o": "Example", "dc": "example"}
        )
        for ou in ("people", "groups", "services", "policies"):
            yield _entry(f"ou={ou},{SUFFIX}", {"objectClass": "organizationalUnit", "ou": ou})
        yield _entry(
            SERVICE_DN,
            {
                "objectClass": ["organizationalRole", "simpleSecurityObject"],
                "cn": "sspr",
                "userPassword": self.service_password,
            },
        )
        policy = {
            "objectClass": ["organizationalRole", "pwdPolicy"],
            "pwdAttribute": "userPassword",
            "pwdMinLength": str(MIN_LENGTH),
            "pwdInHistory": str(IN_HISTORY),
            "pwdCheckQuality": "2",
            "pwdLockout": "TRUE",
            "pwdMaxFailure": str(MAX_FAILURES),
            "pwdLockoutDuration": "0",
            "pwdFailureCountInterval": "0",
            "pwdMustChange": "TRUE",
            "pwdAllowUserChange": "TRUE",
            "pwdSafeModify": "FALSE",
        }
        yield _entry(POLICY_DN, {**policy, "cn": "default"})
        yield _entry(STRICT_POLICY_DN, {**policy, "cn": "strict", "pwdMinAge": "86400"})
        max_age = str(MAX_AGE_DAYS * 86400)
        yield _entry(
            EXPIRING_POLICY_DN,
            {
                **policy,
                "cn": "expiring",
                "pwdMaxAge": max_age,
                "pwdGraceAuthNLimit": str(GRACE_LOGINS),
            },
        )
        yield _entry(NO_GRACE_POLICY_DN, {**policy, "cn": "no-grace", "pwdMaxAge": max_age})

    def add_people(self, conn, people, groups=True) -> None:
        members: dict[str, list[str]] = {}
        for person in people:
            attrs = {
                "objectClass": ["inetOrgPerson"],
                "uid": person.uid,
                "cn": f"{person.given} {person.surname}",
                "givenName": person.given,
                "sn": person.surname,
                "userPassword": person.password,
            }
            if person.mail:
                attrs["mail"] = person.mail
            if person.phone:
                attrs["telephoneNumber"] = person.phone
            if person.policy:
                attrs["pwdPolicySubentry"] = person.policy
            conn.add_s(*_entry(person.dn, attrs))
            for group in person.groups:
                members.setdefault(group, []).append(person.dn)
        if not groups:
            return
        for group in (SCOPE_GROUP, STAFF_GROUP):
            found = members.get(group) or [SERVICE_DN]  # groupOfNames needs one member
            conn.add_s(
                *_entry(
                    group,
                    {"objectClass": "groupOfNames", "cn": group.split(",")[0][3:], "member": found},
                )
            )


# --- Active Directory: Samba's domain controller ------------------------------------------------

AD_REALM = "SSPR.TEST"
AD_DOMAIN = "SSPR"
AD_BASE = "DC=sspr,DC=test"
AD_PEOPLE = f"OU=People,{AD_BASE}"
AD_GROUPS = f"OU=Groups,{AD_BASE}"
AD_SERVICE = f"CN=sspr-service,{AD_PEOPLE}"
AD_SCOPE_GROUP = f"CN=sspr-users,{AD_GROUPS}"
AD_STAFF_GROUP = f"CN=it-admins,{AD_GROUPS}"
AD_ADMIN_PASSWORD = "Adm1n-Pass-2026!"
AD_SERVICE_PASSWORD = "Serv1ce-Pass-2026!"
# Rights as the README asks of a real domain, granted on the people OU to the service account
# and inherited by user objects: the Reset Password extended right, and writing lockoutTime
# and pwdLastSet.
USER_CLASS = "bf967aba-0de6-11d0-a285-00aa003049e2"
RESET_PASSWORD = "00299570-246d-11d0-a768-00aa006e0529"
LOCKOUT_TIME = "28630ebf-41d5-11d1-a9c1-0000f80367c1"
PWD_LAST_SET = "bf967a0a-0de6-11d0-a285-00aa003049e2"


@dataclass
class AdPerson:
    sam: str
    password: str
    given: str
    surname: str
    mail: str = ""
    phone: str = ""
    groups: tuple[str, ...] = (AD_SCOPE_GROUP,)

    @property
    def dn(self) -> str:
        return f"CN={self.given} {self.surname},{AD_PEOPLE}"


AD_PEOPLE_DEMO = (
    AdPerson("rita", "Rita-Domain-2026!", "Rita", "Rahman", "rita@sspr.test", "+44 20 7946 0202"),
    AdPerson("sam", "Sam-Domain-2026!", "Sam", "Sato", "sam@sspr.test"),
    AdPerson(
        "dora",
        "Dora-Domain-2026!",
        "Dora",
        "Domain",
        "dora@sspr.test",
        groups=(AD_SCOPE_GROUP, AD_STAFF_GROUP),
    ),
)


@dataclass
class SambaDC(_Server):
    """Samba's AD domain controller, provisioned into a temporary folder, serving LDAP on
    127.0.0.1:389 (StartTLS) and 636. Needs root (Samba's own requirement)."""

    people: tuple[AdPerson, ...] = AD_PEOPLE_DEMO
    folder: Path | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)
    ca: dict[str, Path] = field(default_factory=dict)
    port: int = 389

    @property
    def uri(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        return {
            "SSPR_DIRECTORY": "active_directory",
            "LDAP_URI": self.uri,
            "LDAP_BIND_DN": AD_SERVICE,
            "LDAP_BIND_PASSWORD": AD_SERVICE_PASSWORD,
            "LDAP_USER_BASE": AD_PEOPLE,
            "LDAP_GROUP_BASE": AD_GROUPS,
            "LDAP_SCOPE_GROUP": AD_SCOPE_GROUP,
            "LDAP_STAFF_GROUP": AD_STAFF_GROUP,
            "LDAP_START_TLS": "1",
            "LDAP_CA_FILE": str(self.ca["ca"]),
        }

    def _run(self, *args: str) -> str:
        result = subprocess.run(  # noqa: S603  (samba-tool with our own arguments)
            [shutil.which("samba-tool") or "samba-tool", *args],
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise RuntimeError(f"samba-tool {args[0]} {args[1]} failed:\n{result.stderr[-2000:]}")
        return result.stdout

    def start(self) -> SambaDC:
        self._own_folder = self.folder is None
        self.folder = Path(self.folder or tempfile.mkdtemp(prefix="sspr-samba-"))
        self.ca = make_ca(self.folder / "tls")
        (self.folder / "run").mkdir(exist_ok=True)
        options = {
            "interfaces": "lo",
            "bind interfaces only": "yes",
            "server services": "ldap",
            "pid directory": str(self.folder / "run"),
            "tls enabled": "yes",
            "tls keyfile": str(self.ca["key"]),
            "tls certfile": str(self.ca["cert"]),
            "tls cafile": str(self.ca["ca"]),
            "log file": str(self.folder / "samba.log"),
        }
        self._run(
            "domain",
            "provision",
            f"--realm={AD_REALM}",
            f"--domain={AD_DOMAIN}",
            "--server-role=dc",
            "--dns-backend=NONE",
            f"--adminpass={AD_ADMIN_PASSWORD}",
            f"--targetdir={self.folder}",
            "--host-ip=127.0.0.1",
            *[f"--option={name}={value}" for name, value in options.items()],
        )
        conf = str(self.folder / "etc" / "smb.conf")
        sam = str(self.folder / "private" / "sam.ldb")
        # A domain controller accepts the previous password for an hour after a change by
        # default (OldPasswordAllowedPeriod); the tests check the old one stops at once.
        text = Path(conf).read_text()
        Path(conf).write_text(
            text.replace("[global]\n", "[global]\n\told password allowed period = 0\n", 1)
        )
        self._run(
            "domain",
            "passwordsettings",
            "set",
            "-H",
            sam,
            "-s",
            conf,
            f"--min-pwd-length={MIN_LENGTH}",
            f"--history-length={IN_HISTORY}",
            f"--account-lockout-threshold={MAX_FAILURES}",
            "--min-pwd-age=0",
            "--complexity=on",
        )
        log = self.folder / "samba.out"
        with log.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603  (samba with its own configuration)
                [shutil.which("samba") or "/usr/sbin/samba", "-i", "-s", conf, "--debug-stdout"],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_for_port(self.port, self.process, 60, log)
        self._load(sam, conf)
        return self

    def connect(
        self, dn: str = f"Administrator@{AD_REALM.lower()}", password: str = AD_ADMIN_PASSWORD
    ):
        import ldap

        conn = ldap.initialize(self.uri)
        conn.set_option(ldap.OPT_REFERRALS, 0)
        conn.set_option(ldap.OPT_NETWORK_TIMEOUT, 10)
        conn.set_option(ldap.OPT_X_TLS_CACERTFILE, str(self.ca["ca"]))
        conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
        conn.start_tls_s()
        conn.simple_bind_s(dn, password)
        return conn

    @staticmethod
    def quoted(password: str) -> bytes:
        return f'"{password}"'.encode("utf-16-le")

    def _load(self, sam: str, conf: str) -> None:
        import ldap

        deadline = time.monotonic() + 30
        while True:  # the LDAP server answers a moment after it listens
            try:
                conn = self.connect()
                break
            except ldap.LDAPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        try:
            for ou in (AD_PEOPLE, AD_GROUPS):
                conn.add_s(ou, [("objectClass", [b"organizationalUnit"])])
            self.add_user(conn, AD_SERVICE, "sspr-service", AD_SERVICE_PASSWORD, {})
            self.add_people(conn, self.people)
        finally:
            conn.unbind_s()
        sid = self.sid(AD_SERVICE)
        aces = "".join(
            f"(OA;CI;{right};{guid};{USER_CLASS};{sid})"
            for right, guid in (("CR", RESET_PASSWORD), ("WP", LOCKOUT_TIME), ("WP", PWD_LAST_SET))
        )
        self._run(
            "dsacl", "set", "-H", sam, "-s", conf, f"--objectdn={AD_PEOPLE}", f"--sddl={aces}"
        )
        # Reading the fine-grained password policies, for their lockout thresholds.
        self._run(
            "dsacl",
            "set",
            "-H",
            sam,
            "-s",
            conf,
            f"--objectdn=CN=Password Settings Container,CN=System,{AD_BASE}",
            f"--sddl=(A;CI;RPLCLORC;;;{sid})",
        )

    def sid(self, dn: str) -> str:
        import ldap

        conn = self.connect()
        try:
            found = conn.search_s(dn, ldap.SCOPE_BASE, attrlist=["objectSid"])
        finally:
            conn.unbind_s()
        raw = found[0][1]["objectSid"][0]
        authority = int.from_bytes(raw[2:8], "big")
        subs = [int.from_bytes(raw[8 + 4 * i : 12 + 4 * i], "little") for i in range(raw[1])]
        return f"S-{raw[0]}-{authority}-" + "-".join(str(s) for s in subs)

    def add_user(self, conn, dn: str, sam: str, password: str, attrs: dict) -> None:
        import ldap

        entry = [("objectClass", [b"user"]), ("sAMAccountName", [sam.encode()])]
        entry += [(name, [value.encode()]) for name, value in attrs.items() if value]
        conn.add_s(dn, entry)
        conn.modify_s(dn, [(ldap.MOD_REPLACE, "unicodePwd", [self.quoted(password)])])
        conn.modify_s(dn, [(ldap.MOD_REPLACE, "userAccountControl", [b"512"])])

    def backdate_password(self, dn: str, days: float) -> None:
        """Make `dn`'s password `days` older, as time passing would (a test of an expired
        password). The domain accepts only 0 or -1 for pwdLastSet over LDAP and through its
        own modules, so the value is written into the domain partition's file directly, with
        the Python that samba-tool runs on (its bindings are not in this project's venv)."""
        tool = Path(shutil.which("samba-tool") or "/usr/bin/samba-tool")
        python = tool.read_text().splitlines()[0].removeprefix("#!").strip() or "python3"
        partition = (
            self.folder / "private" / "sam.ldb.d" / f"{AD_BASE.upper().replace(' ', '')}.ldb"
        )
        script = (
            "import ldb, sys\n"
            "db = ldb.Ldb(sys.argv[1], options=['modules:'])\n"
            "found = db.search(base=sys.argv[2], scope=ldb.SCOPE_BASE, attrs=['pwdLastSet'])\n"
            "value = int(found[0]['pwdLastSet'][0]) - int(float(sys.argv[3]) * 864000000000)\n"
            "change = ldb.Message(ldb.Dn(db, sys.argv[2]))\n"
            "change['pwdLastSet'] = ldb.MessageElement(str(value), ldb.FLAG_MOD_REPLACE,"
            " 'pwdLastSet')\n"
            "db.modify(change)\n"
        )
        subprocess.run(  # noqa: S603  (samba's Python on our own script and arguments)
            [*python.split(), "-c", script, str(partition), dn, str(days)],
            check=True,
            capture_output=True,
        )

    def add_person(self, conn, person: AdPerson) -> None:
        """One more person, in their groups, on a running domain controller."""
        import ldap

        self.add_people(conn, [person], groups=False)
        for group in person.groups:
            conn.modify_s(group, [(ldap.MOD_ADD, "member", [person.dn.encode()])])

    def add_people(self, conn, people, groups: bool = True) -> None:
        members: dict[str, list[bytes]] = {}
        for person in people:
            self.add_user(
                conn,
                person.dn,
                person.sam,
                person.password,
                {
                    "givenName": person.given,
                    "sn": person.surname,
                    "mail": person.mail,
                    "telephoneNumber": person.phone,
                    "userPrincipalName": f"{person.sam}@{AD_REALM.lower()}",
                },
            )
            for group in person.groups:
                members.setdefault(group, []).append(person.dn.encode())
        if groups:
            for group in (AD_SCOPE_GROUP, AD_STAFF_GROUP):
                entry = [("objectClass", [b"group"])]
                if members.get(group):
                    entry.append(("member", members[group]))
                conn.add_s(group, entry)
