"""A private Dovecot IMAP server on 127.0.0.1 for the integration tests: nothing faked.

`dovecot(folder)` writes its own configuration, password file and mail store under
`folder`, starts `dovecot -F` (in the foreground, a child of the test) on a free port,
waits for the greeting, and stops it at the end. Plain-text login without TLS is allowed
(loopback only). Mail is delivered the way a client would: APPEND over IMAP.

As root (CI containers), Dovecot refuses mail access as uid 0, so the mail processes run
as uid/gid 65534 (nobody), chrooted into the mail folder (the pytest temporary folders
are private to root); the auth process runs as root so it can read the password file.
As another user, every Dovecot process runs as that user, without chroot.

`dovecot_problem()` says why no server can be started (not installed); the tests skip
with that reason unless O2C_REQUIRE_IMAP=1 (set by .ci/run), where they fail.
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

MAIL_UID = 65534  # nobody
LOGIN_USER = "orders@muster-maschinenbau.example"
LOGIN_PASSWORD = "geheim-Bestellungen-2026"
UNICODE_USER = "buchhaltung@muster-maschinenbau.example"
UNICODE_PASSWORD = "Zahlungseingänge-prüfen"


def dovecot_binary() -> str | None:
    found = shutil.which("dovecot") or "/usr/sbin/dovecot"
    return found if os.access(found, os.X_OK) else None


def dovecot_problem() -> str | None:
    """None when a Dovecot with IMAP can be started here, else why not."""
    binary = dovecot_binary()
    if binary is None:
        return ("Dovecot is not installed (Debian: apt-get install dovecot-core "
                "dovecot-imapd, or `make system-packages`)")
    dirs = ("/usr/lib/dovecot", "/usr/libexec/dovecot", "/usr/local/libexec/dovecot")
    if not any(Path(d, "imap").exists() for d in dirs):
        return "Dovecot's IMAP server is missing (Debian: apt-get install dovecot-imapd)"
    return None


@dataclass
class ImapServer:
    """A running Dovecot: where it listens, who may log in, where its files are."""

    host: str
    port: int
    root: Path
    process: subprocess.Popen[bytes]
    users: dict[str, str] = field(default_factory=dict)

    @property
    def user(self) -> str:
        return LOGIN_USER

    @property
    def password(self) -> str:
        return self.users[LOGIN_USER]

    @property
    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text("utf-8", "replace") if path.exists() else ""

    @contextmanager
    def client(self, user: str = LOGIN_USER) -> Iterator[imaplib.IMAP4]:
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            token = f"\0{user}\0{self.users[user]}".encode()  # SASL PLAIN: UTF-8 passwords
            conn.authenticate("PLAIN", lambda _challenge: token)
            yield conn
        finally:
            conn.logout()

    def append(self, raw: bytes, folder: str = "INBOX", flags: str = "") -> int:
        """Deliver a message over IMAP; returns its UID (from APPENDUID)."""
        with self.client() as conn:
            if folder != "INBOX":
                conn.create(f'"{folder}"')
            typ, data = conn.append(f'"{folder}"', f"({flags})" if flags else None, None, raw)
            assert typ == "OK", data
            found = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
            assert found, data
            return int(found.group(1))

    def messages(self, folder: str = "INBOX") -> list[tuple[int, bytes, str]]:
        """(uid, raw bytes, flags) of the undeleted messages in a folder."""
        with self.client() as conn:
            typ, _ = conn.select(f'"{folder}"', readonly=True)
            if typ != "OK":
                return []
            typ, data = conn.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
            out = []
            for item in data:
                if not isinstance(item, tuple):
                    continue
                uid = re.search(rb"UID (\d+)", item[0])
                flags = re.search(rb"FLAGS \(([^)]*)\)", item[0])
                if uid and (not flags or b"\\Deleted" not in flags.group(1)):
                    out.append((int(uid.group(1)), bytes(item[1]),
                                flags.group(1).decode() if flags else ""))
            return out

    def folders(self) -> list[str]:
        with self.client() as conn:
            _, data = conn.list()
        return sorted(re.sub(r'^\(.*?\) "?[^ ]*"? ', "", d.decode()).strip('"')
                      for d in data if isinstance(d, bytes))

    def stop(self) -> None:
        """SIGTERM to Dovecot's own process group (its master and children, all started
        here): every process ends at once, where the master alone waits a second."""
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            try:
                self.process.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def dovecot(root: Path) -> Iterator[ImapServer]:
    """Start a private Dovecot with its files under `root`; stop it afterwards."""
    binary = dovecot_binary()
    if binary is None:
        raise RuntimeError(dovecot_problem() or "Dovecot is missing")
    root.mkdir(parents=True, exist_ok=True)
    users = {LOGIN_USER: LOGIN_PASSWORD, UNICODE_USER: UNICODE_PASSWORD}
    # unix sockets must have short paths (108 bytes): the run folder may live in /tmp
    run_dir = root / "run"
    short = None
    if len(str(run_dir)) > 60:
        short = Path(tempfile.mkdtemp(prefix="o2c-dovecot-"))
        run_dir = short
    run_dir.mkdir(exist_ok=True)
    (root / "state").mkdir(exist_ok=True)
    mail = root / "mail"
    mail.mkdir(exist_ok=True)
    as_root = os.geteuid() == 0
    for user in users:
        home = mail / user
        home.mkdir(exist_ok=True)
        if as_root:
            os.chown(home, MAIL_UID, MAIL_UID)
    (root / "users").write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in users.items()),
                                "utf-8")
    last_error = ""
    for _attempt in range(3):  # the free port may be taken between looking and binding
        port = free_port()
        conf = root / "dovecot.conf"
        conf.write_text(_config(root, run_dir, port, as_root), "utf-8")
        with (root / "dovecot.out").open("ab") as out:
            process = subprocess.Popen([binary, "-F", "-c", str(conf)],
                                       stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        server = ImapServer("127.0.0.1", port, root, process, users)
        if _wait_for_greeting(server):
            try:
                yield server
            finally:
                server.stop()
                if short is not None:
                    shutil.rmtree(short, ignore_errors=True)
            return
        server.stop()
        output = (root / "dovecot.out").read_text("utf-8", "replace")
        last_error = (output + server.log)[-2000:]
    if short is not None:
        shutil.rmtree(short, ignore_errors=True)
    raise RuntimeError(f"Dovecot did not start on 127.0.0.1:\n{last_error}")


def _wait_for_greeting(server: ImapServer, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            with socket.create_connection((server.host, server.port), timeout=1) as sock:
                if sock.recv(100).startswith(b"* OK"):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def _config(root: Path, run_dir: Path, port: int, as_root: bool) -> str:
    me = pwd.getpwuid(os.geteuid()).pw_name
    if as_root:
        users = "default_login_user = dovenull\ndefault_internal_user = dovecot\n"
        userdb = f"uid={MAIL_UID} gid={MAIL_UID} home={root}/mail/./%u"
        services = "service auth {\n  user = root\n}\n"
        chroot = f"valid_chroot_dirs = {root}/mail\n"
        login_chroot = ""
    else:
        group = grp.getgrgid(os.getegid()).gr_name
        users = (f"default_login_user = {me}\ndefault_internal_user = {me}\n"
                 f"default_internal_group = {group}\n")
        userdb = f"uid={os.geteuid()} gid={os.getegid()} home={root}/mail/%u"
        services = "service anvil {\n  chroot =\n}\n"
        chroot = ""
        login_chroot = "\n  chroot ="
    return f"""# written by tests/imap_server.py for one test
base_dir = {run_dir}
state_dir = {root}/state
instance_name = o2c-test-{port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
log_path = {root}/dovecot.log
mail_location = maildir:~/Maildir
first_valid_uid = 1
{users}{chroot}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = {userdb}
}}
{services}
service imap-login {{{login_chroot}
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""
