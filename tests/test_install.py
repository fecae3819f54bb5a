"""deploy/install.sh as an operator runs it (as root), under a throwaway prefix.

The checkout is copied to <prefix>/opt/newsroom, as `git clone` would put it;
install.sh then puts everything else under the prefix too, for a user of its
own. The app is started from the installed unit the way systemd starts it.
"""

import configparser
import hashlib
import os
import pwd
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.services import ROOT, http_request, stop

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="install.sh runs as root"),
    pytest.mark.skipif(
        not all(map(shutil.which, ("useradd", "userdel", "runuser", "setpriv"))),
        reason="needs useradd, userdel, runuser and setpriv (passwd, util-linux)",
    ),
]

# What nginx sends: the site's host name, and that the reader came over HTTPS.
PROXIED = {"Host": "news.example.com", "X-Forwarded-Proto": "https"}


def system_python():
    """An interpreter the service user may run (pyenv's live in root's home)."""
    for path in ("/usr/bin/python3.11", "/usr/local/bin/python3.11"):
        if os.access(path, os.X_OK):
            return path
    pytest.skip("no system python3.11 that a service user can run")


class Installation:
    def __init__(self, prefix, user):
        self.prefix = prefix
        self.user = user
        self.checkout = prefix / "opt" / "newsroom"
        self.units = prefix / "etc" / "systemd" / "system"
        self.env_file = prefix / "etc" / "newsroom" / "env"

    def copy_checkout(self):
        """The files git tracks (and new ones it does not ignore)."""
        names = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.split(b"\0")
        for name in filter(None, names):
            source = ROOT / os.fsdecode(name)
            if source.is_file():
                target = self.checkout / os.fsdecode(name)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)

    def run(self):
        result = subprocess.run(
            [str(self.checkout / "deploy" / "install.sh")],
            env={
                **os.environ,
                "NEWSROOM_PREFIX": str(self.prefix),
                "NEWSROOM_USER": self.user,
                "PYTHON": system_python(),
                # Faster; the app then runs without cached bytecode, as well.
                "PIP_NO_COMPILE": "1",
            },
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def listing(self):
        """Every path under the prefix with its owner, mode, mtime and checksum,
        and the user's account."""
        entries = [
            subprocess.run(
                ["getent", "passwd", self.user], capture_output=True, text=True
            ).stdout,
            subprocess.run(
                ["getent", "group", self.user], capture_output=True, text=True
            ).stdout,
        ]
        for folder, folders, files in os.walk(self.prefix):
            for name in sorted(folders + files):
                path = Path(folder, name)
                info = path.lstat()
                checksum = ""
                if stat.S_ISREG(info.st_mode):
                    checksum = hashlib.sha256(path.read_bytes()).hexdigest()
                elif stat.S_ISLNK(info.st_mode):
                    checksum = os.readlink(path)
                entries.append(
                    f"{path} {info.st_uid}:{info.st_gid} {info.st_mode:o} "
                    f"{info.st_mtime_ns} {checksum}"
                )
        return entries

    def unit(self, name):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str
        parser.read(self.units / name)
        return parser


def systemd_environment_file(path):
    """KEY=value lines as systemd's EnvironmentFile= reads them."""
    env = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        env[key.strip()] = value
    return env


@pytest.fixture(scope="module")
def installation():
    # Not under pytest's own temporary folder: that is root's alone (mode 700),
    # and the service user must reach its files as it would /opt and /srv.
    prefix = Path(tempfile.mkdtemp(prefix="newsroom-install-"))
    prefix.chmod(0o755)
    installation = Installation(prefix, f"nrtest{os.getpid() % 100000}")
    try:
        installation.copy_checkout()
        first_output = installation.run()
        installation.first_output = first_output
        yield installation
    finally:
        subprocess.run(["userdel", installation.user], capture_output=True)
        shutil.rmtree(prefix, ignore_errors=True)


def test_second_run_changes_nothing(installation):
    assert f"created user {installation.user}" in installation.first_output
    before = installation.listing()

    output = installation.run()

    assert output.strip() == "install.sh: done"
    assert installation.listing() == before


def test_service_user_reads_its_config_and_owns_its_data(installation):
    account = pwd.getpwnam(installation.user)
    home = installation.prefix / "srv" / "newsroom"
    assert account.pw_dir == str(home)
    for path, owner, mode in [
        (installation.env_file, 0, 0o640),
        (installation.prefix / "etc" / "newsroom" / "secret_key", 0, 0o640),
        (home / "var", account.pw_uid, 0o755),
        (home / "var" / "db.sqlite3", account.pw_uid, 0o640),
        (home / "var" / "media", account.pw_uid, 0o750),
        (installation.prefix / "var" / "backups" / "newsroom", account.pw_uid, 0o700),
    ]:
        info = path.stat()
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (
            owner,
            account.pw_gid,
            mode,
        ), path
    env = systemd_environment_file(installation.env_file)
    assert env["NEWSROOM_VAR_DIR"] == str(home / "var")
    assert Path(env["DJANGO_SECRET_KEY_FILE"]).read_text().strip()


def test_app_starts_as_the_systemd_unit_says(installation):
    """ExecStart, User=, WorkingDirectory= and EnvironmentFile= of the installed
    unit, the listening socket handed over as newsroom.socket would."""
    service = installation.unit("newsroom.service")["Service"]
    listen = installation.unit("newsroom.socket")["Socket"]["ListenStream"]
    host = listen.rpartition(":")[0]
    account = pwd.getpwnam(service["User"])
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin",
        "LANG": "C.UTF-8",
        "HOME": account.pw_dir,
        "USER": account.pw_name,
        "LOGNAME": account.pw_name,
        **systemd_environment_file(service["EnvironmentFile"]),
        "LISTEN_FDS": "1",
        "WEB_CONCURRENCY": "1",
    }
    command = shlex.split(service["ExecStart"])
    assert Path(command[0]).is_relative_to(installation.prefix)
    listener = socket.socket()
    listener.bind((host, 0))  # the unit's address, on a free port
    listener.listen(64)
    port = listener.getsockname()[1]

    def hand_over_socket():
        os.dup2(listener.fileno(), 3)  # SD_LISTEN_FDS_START

    process = subprocess.Popen(
        ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}"]
        + ["--init-groups", "--", "sh", "-c", 'LISTEN_PID=$$ exec "$@"', "sh"]
        + command,
        cwd=service["WorkingDirectory"],
        env=env,
        pass_fds=(3, listener.fileno()),
        preexec_fn=hand_over_socket,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    listener.close()
    try:
        home = http_request(port, "/", headers=PROXIED)
        health = http_request(port, "/healthz", headers=PROXIED)
        status = Path(f"/proc/{process.pid}/status").read_text()
    finally:
        stop(process, signal.SIGTERM)
    log = process.stdout.read().decode()
    assert home.status == 200, log
    assert b"Newsroom" in home.body
    assert (health.status, health.text.strip()) == (200, "ok"), log
    assert f"Uid:\t{account.pw_uid}\t" in status


def test_systemd_accepts_the_installed_units(installation):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    units = sorted(
        path
        for path in installation.units.iterdir()
        if path.suffix in (".service", ".socket", ".timer")
    )
    assert {"newsroom.service", "newsroom.socket", "newsroom-backup.timer"} <= {
        unit.name for unit in units
    }
    result = subprocess.run(
        ["systemd-analyze", "verify", *map(str, units)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr


def test_existing_env_file_is_kept_and_made_readable(installation):
    """Last: it changes the installation."""
    original = installation.env_file.read_text()
    edited = original.replace("SITE_NAME=Newsroom", "SITE_NAME='The Daily Test'")
    installation.env_file.write_text(edited)
    installation.env_file.chmod(0o600)  # as the old README had it

    output = installation.run()

    assert installation.env_file.read_text() == edited
    assert stat.S_IMODE(installation.env_file.stat().st_mode) == 0o640
    # Another configuration: migrate and collectstatic run with it.
    assert "migrated the database" in output
