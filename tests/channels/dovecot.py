"""A real IMAP server for the tests: Debian's dovecot (dovecot-imapd), started on 127.0.0.1 on a free port with
its own configuration in a temporary folder (passwd-file users, maildir mail in the folder, no TLS), never the
system's service. Mail is delivered into it by IMAP APPEND, as another mail system would."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "refunds", "mailbox-password-for-tests"


def available() -> bool:
    return os.path.exists(DOVECOT)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _account(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


class Dovecot:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> Dovecot:
        f = self.folder
        for sub in ("run", "state", "mail", "home"):
            (f / sub).mkdir(parents=True, exist_ok=True)
        me = pwd.getpwuid(os.geteuid())
        if os.geteuid() == 0:  # dovecot never gives mail to uid 0 and wants unprivileged login processes
            mail_user = _account("nobody")
            login = (_account("dovenull") or mail_user).pw_name
            internal = (_account("dovecot") or mail_user).pw_name
            for sub in ("mail", "home"):
                os.chown(f / sub, mail_user.pw_uid, mail_user.pw_gid)
            os.chmod(f, 0o755)
        else:
            mail_user, login, internal = me, me.pw_name, me.pw_name
        (f / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}:{mail_user.pw_uid}:{mail_user.pw_gid}::"
                                  f"{f}/home/{USER}::\n")
        (f / "dovecot.conf").write_text(f"""
base_dir = {f}/run
state_dir = {f}/state
instance_name = refunddesk-test-{self.port}
log_path = {f}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login}
default_internal_user = {internal}
first_valid_uid = 0
last_valid_uid = 0
mail_location = maildir:{f}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {f}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {f}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""")
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(f / "dovecot.conf")], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.process.stdout.read().decode()} {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"dovecot did not answer on port {self.port}: {self.log()}")

    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """Put a message into the mailbox by IMAP APPEND."""
        from imapclient import IMAPClient

        with IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10) as box:
            box.login(USER, PASSWORD)
            box.append(folder, raw)

    def count(self, folder: str = "INBOX") -> int:
        from imapclient import IMAPClient

        with IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10) as box:
            box.login(USER, PASSWORD)
            return box.select_folder(folder, readonly=True)[b"EXISTS"]
