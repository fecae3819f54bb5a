"""Checks a browser test applies to any page: axe-core, console and requests."""

from pathlib import Path

AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules/axe-core/axe.min.js"
# Enough of each rule's failing elements to find them; the rest only repeat.
NODES_SHOWN = 5


def assert_no_axe_violations(page, color_schemes=(None,)):
    """Run axe-core's default rules (WCAG 2 A/AA and best practices) on the page.

    With color_schemes=["light", "dark"] the page is checked in each scheme
    (prefers-color-scheme emulation) and every violation of both is reported.
    """
    assert AXE_SCRIPT.exists(), f"{AXE_SCRIPT} is missing: run npm ci (make test does)"
    page.add_script_tag(path=AXE_SCRIPT)
    reports = []
    for scheme in color_schemes:
        if scheme:
            page.emulate_media(color_scheme=scheme)
            # The admin's links fade to the new scheme's colours (CSS
            # transitions): check the colours they end with, not midway.
            page.evaluate(
                "() => Promise.all(document.getAnimations().map(a => a.finished))"
            )
        results = page.evaluate(
            "() => axe.run(document, {resultTypes: ['violations']})"
        )
        if results["violations"]:
            reports.append(describe_violations(page.url, scheme, results["violations"]))
    assert not reports, "\n".join(reports)


def describe_violations(url, scheme, violations):
    where = f"{url} ({scheme})" if scheme else url
    lines = [f"axe-core found {len(violations)} violation(s) on {where}:"]
    for violation in violations:
        lines.append(
            f"- [{violation['impact']}] {violation['id']}: {violation['help']} "
            f"({violation['helpUrl']})"
        )
        for node in violation["nodes"][:NODES_SHOWN]:
            summary = " ".join(node["failureSummary"].split())
            lines.append(f"    {' '.join(node['target'])}: {summary}")
        hidden = len(violation["nodes"]) - NODES_SHOWN
        if hidden > 0:
            lines.append(f"    ... and {hidden} more element(s)")
    return "\n".join(lines)


class PageProblems:
    """Console errors, uncaught exceptions and failed requests seen on a page.

    The page's own document is left to the test, which asserts its status (a
    reader is meant to get a 404 for a draft); everything the document loads
    must succeed, and so must its favicon, which Chromium fetches behind
    Playwright's back, so it is requested here.
    """

    def __init__(self, page):
        self.page = page
        self.problems = []
        page.on("console", self._on_console)
        page.on("pageerror", self._on_page_error)
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)

    def _on_console(self, message):
        if message.type == "error" and not self._about_own_document(message):
            self.problems.append(f"console error: {message.text}")

    def _on_page_error(self, error):
        self.problems.append(f"uncaught {error.name}: {error.message}")

    def _about_own_document(self, message):
        # Chromium logs a 404 document as "Failed to load resource" too.
        return (
            message.text.startswith("Failed to load resource")
            and message.location["url"] == self.page.url
        )

    def _on_request_failed(self, request):
        # A click that leaves a page still loading cancels its requests, as a
        # quick reader's would; that is not a fault of the page.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"request failed: {request.url} ({request.failure})")

    def _on_response(self, response):
        if response.status >= 400 and not response.request.is_navigation_request():
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def favicon_problem(self):
        icon_url = self.page.evaluate(
            """() => document.querySelector('link[rel~="icon"]')?.href
                     ?? new URL('/favicon.ico', location.href).href"""
        )
        response = self.page.request.get(icon_url)
        content_type = response.headers.get("content-type", "")
        if not response.ok or not content_type.startswith("image/"):
            return f"favicon {icon_url}: HTTP {response.status}, {content_type!r}"
        return None

    def assert_none(self):
        problems = [*self.problems, self.favicon_problem()]
        problems = [problem for problem in problems if problem]
        assert not problems, f"problems on {self.page.url}:\n" + "\n".join(problems)


def watch_for_problems(page):
    return PageProblems(page)
