"""Errors reach the operator: one key=value log line per event with the
request's id, and error reports to Sentry without personal data."""

import gzip
import http.server
import io
import json
import logging
import re
import threading
import time
import zlib

import brotli
import pytest
from django.test import Client

from newsroom.request_log import KeyValueFormatter, RequestIdFilter
from tests.services import Browser, Site, run_python

REQUEST_LINE = re.compile(
    r"^time=\S+ level=(?P<level>[A-Z]+) logger=newsroom\.request "
    r"request_id=(?P<id>\S+) msg=request method=(?P<method>[A-Z]+) "
    r"path=(?P<path>\S+) status=(?P<status>\d{3}) "
    r"duration_ms=(?P<ms>\d+(?:\.\d+)?) pid=(?P<pid>\d+)$"
)


@pytest.fixture
def log_lines():
    """What the site's console handler writes, as its lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(KeyValueFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: stream.getvalue().splitlines()
    finally:
        root.removeHandler(handler)


@pytest.mark.django_db
@pytest.mark.urls("tests.probe_urls")
def test_an_error_is_two_single_lines_with_the_request_id(log_lines):
    response = Client(raise_request_exception=False).get(
        "/probe/broken/", HTTP_X_REQUEST_ID="lb-5f2a"
    )
    assert response.status_code == 500
    assert response["X-Request-ID"] == "lb-5f2a"
    error, request = log_lines()
    assert error.startswith("time=")
    assert "level=ERROR logger=django.request request_id=lb-5f2a" in error
    assert 'msg="Internal Server Error: /probe/broken/"' in error
    # The traceback, folded into one quoted value.
    assert re.search(r'exc="Traceback .*\\n.*RuntimeError: a bug in a view"', error)
    fields = REQUEST_LINE.match(request).groupdict()
    assert fields["id"] == "lb-5f2a"
    assert (fields["level"], fields["method"], fields["status"]) == (
        "ERROR",
        "GET",
        "500",
    )
    assert fields["path"] == "/probe/broken/"


@pytest.mark.django_db
def test_a_request_id_is_made_when_the_load_balancer_sends_none_or_junk(log_lines):
    plain = Client().get("/healthz")
    junk = Client().get("/healthz", HTTP_X_REQUEST_ID="x\ny=1 injected")
    for response in (plain, junk):
        assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert plain["X-Request-ID"] != junk["X-Request-ID"]
    ids = [REQUEST_LINE.match(line)["id"] for line in log_lines()]
    assert ids == [plain["X-Request-ID"], junk["X-Request-ID"]]
    assert "injected" not in "\n".join(log_lines())


@pytest.mark.processes
def test_the_served_site_logs_one_line_per_request_and_gunicorn_none(
    tmp_path, prepared_site
):
    site = Site.from_prepared(tmp_path, prepared_site)
    with site.server(workers=1) as server:
        response = server.get("/healthz", **{"X-Request-ID": "lb-served-1"})
        assert response.headers["x-request-id"] == "lb-served-1"
        assert server.get("/no-such-page/").status == 404
    lines = [
        line
        for line in (tmp_path / "server.log").read_text().splitlines()
        if "logger=newsroom.request" in line
    ]
    served = [REQUEST_LINE.match(line).groupdict() for line in lines]
    assert [(f["path"], f["status"]) for f in served] == [
        ("/healthz", "200"),
        ("/no-such-page/", "404"),
    ]
    assert served[0]["id"] == "lb-served-1"
    assert float(served[0]["ms"]) > 0
    log = (tmp_path / "server.log").read_text()
    assert '"GET /healthz' not in log  # no second, gunicorn-format access line
    # gunicorn's own events, too, are single key=value lines.
    assert "logger=gunicorn.error" in log and "Booting worker" in log
    assert all(line.startswith("time=") for line in log.splitlines()), log
    assert "Not Found: /no-such-page/" not in log  # the request line says it


class SentryIngest(http.server.BaseHTTPRequestHandler):
    """Stands in for Sentry: keeps every envelope posted to it, decoded."""

    envelopes = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":
            body = brotli.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        self.envelopes.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def sentry_ingest():
    SentryIngest.envelopes = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SentryIngest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def events(envelopes):
    found = []
    for envelope in envelopes:
        lines = envelope.split(b"\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                found.append(json.loads(payload))
    return found


@pytest.mark.processes
def test_sentry_dsn_reports_an_error_without_personal_data(
    tmp_path, prepared_site, sentry_ingest
):
    port = sentry_ingest.server_address[1]
    site = Site.from_prepared(
        tmp_path, prepared_site, SENTRY_DSN=f"http://public@127.0.0.1:{port}/1"
    )
    site.shell(
        "from django.contrib.auth.models import User; User.objects.create_user("
        "'editor', 'editor@example.com', 'pw-editor-1', is_staff=True)"
    )
    # A signed-in editor meets a bug in a view, on the production server.
    with site.server(workers=1, app="tests.probe_wsgi") as server:
        editor = Browser(server)
        editor.sign_in("editor", "pw-editor-1")
        session_key = editor.cookies["sessionid"]
        response = server.request(
            "/probe/broken/?page=2",
            headers={
                "Cookie": f"sessionid={session_key}",
                "X-Request-ID": "lb-77",
                "X-Real-IP": "198.51.100.23",
            },
        )
        assert response.status == 500
        deadline = time.monotonic() + 20
        while not events(SentryIngest.envelopes) and time.monotonic() < deadline:
            time.sleep(0.2)

    (event,) = events(SentryIngest.envelopes)  # once: not again for its log lines
    (exception,) = event["exception"]["values"]
    assert (exception["type"], exception["value"]) == (
        "RuntimeError",
        "a bug in a view",
    )
    assert event["tags"]["request_id"] == "lb-77"
    request = event["request"]
    assert request["url"] == f"http://127.0.0.1:{server.port}/probe/broken/"
    assert request["method"] == "GET"
    assert request["query_string"] == "page=2"
    assert request["headers"]["X-Request-Id"] == "lb-77"  # headers do go
    # Named, never its value (nor the reader's address: see below).
    assert request["headers"]["Cookie"] == "[Filtered]"
    assert "cookies" not in request
    assert not request.get("data")  # no request body, ever
    assert "REMOTE_ADDR" not in request["env"]
    assert not {"email", "username", "ip_address"} & set(event.get("user", {}))
    raw = b"".join(SentryIngest.envelopes)
    for personal in (session_key, "editor@example.com", "198.51.100.23"):
        assert personal.encode() not in raw, personal


@pytest.mark.processes
def test_without_sentry_dsn_nothing_is_sent(tmp_path, prepared_site):
    site = Site.from_prepared(tmp_path, prepared_site)
    result = run_python(
        site.env,
        "import django, sentry_sdk; django.setup(); "
        "print(sentry_sdk.get_client().is_active())",
    )
    assert result.stdout.strip() == "False", result.stderr
