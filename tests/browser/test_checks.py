"""The page checks catch what they are meant to catch."""

import pytest

from tests.browser.checks import assert_no_axe_violations, watch_for_problems

DARK_ONLY_LOW_CONTRAST = """<!doctype html>
<html lang="en"><head><title>Contrast</title>
<style>
  @media (prefers-color-scheme: dark) { p { color: #444; background: #333; } }
</style>
</head><body><main><h1>Contrast</h1><p>Grey on grey at night.</p></main></body></html>
"""


def test_axe_check_reports_a_violation_with_its_rule_and_element(page):
    page.set_content(
        '<!doctype html><html lang="en"><head><title>Photo</title></head>'
        '<body><main><h1>Photo</h1><img src="data:," id="photo"></main></body></html>'
    )

    with pytest.raises(AssertionError) as failure:
        assert_no_axe_violations(page)

    assert "image-alt" in str(failure.value)
    assert "#photo" in str(failure.value)


def test_axe_check_finds_what_only_the_dark_scheme_gets_wrong(page):
    page.set_content(DARK_ONLY_LOW_CONTRAST)
    assert_no_axe_violations(page, color_schemes=["light"])

    with pytest.raises(AssertionError, match=r"\(dark\):\n.*color-contrast"):
        assert_no_axe_violations(page, color_schemes=["light", "dark"])


def test_problem_watch_passes_a_clean_page(page):
    problems = watch_for_problems(page)
    page.goto("/admin/login/")

    problems.assert_none()


@pytest.mark.parametrize(
    "script, reported",
    [
        ("console.error('boom')", "console error: boom"),
        ("setTimeout(() => { throw new Error('kaput') })", "uncaught Error: kaput"),
        ("fetch('/static/missing.js')", "HTTP 404: http"),
        (
            "document.head.insertAdjacentHTML('beforeend',"
            ' \'<link rel="icon" href="/static/missing.ico">\')',
            "favicon http",
        ),
    ],
    ids=["console-error", "uncaught-error", "failed-request", "missing-favicon"],
)
def test_problem_watch_reports_what_went_wrong(page, script, reported):
    problems = watch_for_problems(page)
    page.goto("/admin/login/")
    page.evaluate(script)
    page.wait_for_timeout(200)  # let the request or timer finish

    with pytest.raises(AssertionError, match=reported):
        problems.assert_none()
