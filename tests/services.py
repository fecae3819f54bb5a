"""Helpers for tests that use real services: gunicorn servers, Redis, PostgreSQL.

Everything listens on loopback ports picked by the kernel and is stopped by the
test that started it.
"""

import contextlib
import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/10")
# The PostgreSQL database the multi-server tests create and drop; named after
# this test run, so two runs on one machine never drop each other's database.
SERVED_POSTGRES_URL = os.environ.get(
    "TEST_SERVED_DATABASE_URL",
    f"postgres://postgres@127.0.0.1:5432/newsroom_served_{os.getpid()}",
)
POSTGRES_PORT = urlsplit(SERVED_POSTGRES_URL).port or 5432


def free_port():
    """A loopback port nothing listens on (free now; closed unless reused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


closed_port = free_port  # read as: a port where nothing answers


def require_redis(url=REDIS_URL):
    """The Redis database the tests may write to, or skip saying why."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis at {url} is not reachable: {error}")
    return url


def delete_redis_keys(url, prefix):
    """Remove what a test wrote under its own key prefix (never a flush)."""
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


def require_postgres():
    """A fresh, empty served database (dropped again by drop_database)."""
    import psycopg

    parts = urlsplit(SERVED_POSTGRES_URL)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=2) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL for {SERVED_POSTGRES_URL} is not reachable: {error}")
    return SERVED_POSTGRES_URL


def database_url_via(port):
    """The served database's URL, reached through another local port."""
    parts = urlsplit(SERVED_POSTGRES_URL)
    return parts._replace(netloc=f"{parts.username}@127.0.0.1:{port}").geturl()


def drop_database(url):
    import psycopg

    parts = urlsplit(url)
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


# What a developer's shell may hold that would change the settings under test.
SETTINGS_FROM_THE_SHELL = (
    "DJANGO_",
    "DATABASE_URL",
    "REDIS_URL",
    "CACHE_KEY_PREFIX",
    "MEDIA_",
    "AWS_",
    "SENTRY_",
    "NEWSROOM_SQLITE_",
)


def site_env(var_dir, **settings):
    """Production-like settings for a server or a command: debug off, real key."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(SETTINGS_FROM_THE_SHELL)
        and key
        not in ("WEB_CONCURRENCY", "GUNICORN_CMD_ARGS", "PORT", "HOST", "SITE_URL")
    }
    env.update(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SETTINGS_MODULE="newsroom.settings",
        NEWSROOM_VAR_DIR=str(var_dir),
        PYTHONUNBUFFERED="1",
    )
    env.update(settings)
    return env


def run_python(env, code, *args):
    """Run Python code in its own process, from the project folder, with `env`
    (site_env's): what a fresh process makes of the settings."""
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def manage(env, *args):
    """Run a management command in its own process, as an operator would."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def prepare_site(var_dir):
    """Collect static files and migrate an SQLite database, once a test run."""
    env = site_env(var_dir)
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    return var_dir


@dataclass
class Site:
    """A production-like configuration: its environment and its var/ folder."""

    env: dict
    var_dir: Path

    @classmethod
    def from_prepared(cls, var_dir, prepared, database_url=None, **settings):
        """Static files from the prepared site; its SQLite database copied
        unless another database is named."""
        (var_dir / "static").symlink_to(prepared / "static")
        if database_url is None:
            shutil.copyfile(prepared / "db.sqlite3", var_dir / "db.sqlite3")
        else:
            settings["DATABASE_URL"] = database_url
        return cls(site_env(var_dir, **settings), var_dir)

    def shell(self, code, **values):
        manage(self.env, "shell", "-c", code.format(**values))

    def server(self, name="server", workers=3, app="newsroom.wsgi", **env):
        return Server({**self.env, **env}, self.var_dir / f"{name}.log", workers, app)


def wait_for_port(port, process, log_path, timeout=60):
    """Until the server accepts connections; its log if it died instead."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log_path.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start: {log_path.read_text()}")


def stop(process, graceful_signal, timeout=30):
    """Ask a server to stop, and make sure it has."""
    process.send_signal(graceful_signal)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def http_request(port, path, method="GET", headers=None, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Response(
            response.status,
            {name.lower(): value for name, value in response.getheaders()},
            response.read(),
        )
    finally:
        connection.close()


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    @property
    def text(self):
        return self.body.decode()


class Server:
    """`gunicorn --config gunicorn.conf.py newsroom.wsgi`, as `make run` starts it."""

    def __init__(self, env, log_path, workers=3, app="newsroom.wsgi"):
        self.env = env
        self.log_path = log_path
        self.workers = workers
        self.app = app  # tests.probe_wsgi adds the probe views
        self.port = None
        self.process = None

    def __enter__(self):
        self.port = free_port()
        env = {**self.env, "PORT": str(self.port), "WEB_CONCURRENCY": str(self.workers)}
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"]
            + [self.app],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, self.process, self.log_path)
        return self

    def __exit__(self, *exc_info):
        stop(self.process, signal.SIGTERM)  # graceful: workers finish requests
        self.log.close()

    def request(self, path, method="GET", headers=None, body=None):
        return http_request(self.port, path, method, headers, body)

    def get(self, path, **headers):
        return self.request(path, headers=headers)

    def worker_pids(self):
        """The worker processes named in the request log (pid=...)."""
        return set(re.findall(r" pid=(\d+)", self.log_path.read_text()))


class Browser:
    """Cookies and CSRF tokens across requests, for signing in to the admin."""

    def __init__(self, server):
        self.server = server
        self.cookies = {}

    def request(self, path, method="GET", form=None, files=None):
        """`files`: (field name, file name, bytes) to send as multipart/form-data."""
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if files is not None:
            body, headers["Content-Type"] = multipart(form or {}, files)
        elif form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        response = self.server.request(path, method, headers, body)
        for cookie in response_cookies(response):
            name, _, value = cookie.partition("=")
            self.cookies[name] = value
        return response

    def form_token(self, path):
        page = self.request(path)
        return re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)[
            1
        ].decode()

    def sign_in(self, username, password):
        token = self.form_token("/admin/login/")
        response = self.request(
            "/admin/login/",
            "POST",
            {"csrfmiddlewaretoken": token, "username": username, "password": password},
        )
        assert response.status == 302, response.text
        return response


def multipart(form, files):
    """A multipart/form-data body and its content type, as a browser sends it."""
    boundary = secrets.token_hex(16)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        f"{value}\r\n".encode()
        for name, value in form.items()
    ]
    for field, filename, content in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def response_cookies(response):
    """http.client folds repeated Set-Cookie headers; read them raw instead."""
    raw = response.headers.get("set-cookie", "")
    return [
        part.split(";", 1)[0].strip()
        for part in re.split(r",(?=\s*\w+=)", raw)
        if "=" in part.split(";", 1)[0]
    ]


class TcpRelay:
    """A loopback port that forwards to another, and can be cut and restored:
    a database "going away" and "coming back" without touching the real one."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.port = free_port()
        self.sockets = []
        self.listener = None
        self.lock = threading.Lock()

    def start(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(64)
        threading.Thread(
            target=self._accept, args=(self.listener,), daemon=True
        ).start()
        return self

    def stop(self):
        """Refuse new connections and cut every open one."""
        with self.lock:
            # shutdown() first: close() alone leaves a blocked accept() listening.
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.sockets.clear()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pipe, args=(source, sink), daemon=True
                ).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class Nginx:
    """nginx with the deploy config's locations in front of a local server."""

    template = ROOT / "benchmarks" / "nginx.conf.in"

    def __init__(self, upstream_port, var_dir, prefix):
        self.port = free_port()
        self.prefix = prefix
        prefix.mkdir(parents=True, exist_ok=True)
        if not (var_dir / "nginx" / "limits.conf").exists():
            # What install does after collectstatic (a test may write its own).
            manage(site_env(var_dir), "nginx_limits", "--verbosity", "0")
        config = self.template.read_text()
        for name, value in {
            # As root, workers would drop to "nobody", who cannot read tmp dirs.
            "USER_LINE": "user root;" if os.geteuid() == 0 else "",
            "PREFIX": str(prefix),
            "UPSTREAM_PORT": str(upstream_port),
            "PORT": str(self.port),
            "VAR_DIR": str(var_dir),
            "APP_CONF": str(ROOT / "deploy" / "nginx" / "newsroom-app.conf"),
        }.items():
            config = config.replace(f"@{name}@", value)
        self.config_path = prefix / "nginx.conf"
        self.config_path.write_text(config)

    def __enter__(self):
        self.process = subprocess.Popen(
            [require_nginx(), "-c", str(self.config_path), "-p", str(self.prefix)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, self.process, self.prefix / "error.log")
        return self

    def __exit__(self, *exc_info):
        stop(self.process, signal.SIGQUIT)  # nginx's graceful shutdown

    def get(self, path, **headers):
        return http_request(self.port, path, headers=headers)

    def request(self, path, method="GET", headers=None, body=None):
        return http_request(self.port, path, method, headers, body)


def require_nginx():
    path = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None
    )
    if path is None:
        pytest.skip("nginx is not installed (Debian package nginx)")
    return path


class Varnish:
    """varnishd with deploy/varnish/default.vcl in front of a local server."""

    vcl = ROOT / "deploy" / "varnish" / "default.vcl"

    def __init__(self, upstream_port, workdir, port=None):
        self.port = port or free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        config = self.vcl.read_text().replace(
            '.port = "8000";', f'.port = "{upstream_port}";'
        )
        self.vcl_path = workdir / "default.vcl"
        self.vcl_path.write_text(config)

    def __enter__(self):
        self.log_path = self.workdir / "varnishd.log"
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [require_varnishd(), "-F", "-j", "none", "-n", str(self.workdir / "n")]
            + ["-a", f"127.0.0.1:{self.port}", "-f", str(self.vcl_path)]
            + ["-s", "malloc,32m", "-p", "vcc_allow_inline_c=off"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, self.process, self.log_path)
        return self

    def __exit__(self, *exc_info):
        stop(self.process, signal.SIGTERM)
        self.log.close()

    def get(self, path, **headers):
        return http_request(self.port, path, headers=headers)


def require_varnishd():
    path = shutil.which("varnishd") or (
        "/usr/sbin/varnishd" if os.path.exists("/usr/sbin/varnishd") else None
    )
    if path is None:
        pytest.skip(
            "varnishd is not installed (Debian packages varnish, varnish-modules)"
        )
    return path
