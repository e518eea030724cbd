"""The admin's list of audio sessions in Chromium: summary, charts, styles, filters.

A live daphne holds 3,000 sample records (bench/sample_sessions.py over the last
30 days); Chromium logs in through the admin's own form. The database work runs in
subprocesses: Django refuses ORM calls from a thread that runs an event loop, as
Playwright's sync API does. Each run keeps the list's screenshot as an artifact;
WSAUDIO_UPDATE_DOCS_SCREENSHOTS=1 also puts it in docs/admin.png.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from ..live.server import ROOT, LiveServer, running_server
from .artifacts import keep_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.database]

SESSIONS = 3000
# sample_sessions gives every one of the last DAYS UTC days sessions, so each chart
# has a bar a day from the first to today: exactly DAYS bars.
DAYS = 30
LIST_PATH = "/admin/echo/sessionrecord/"
LIST_PER_PAGE = 50  # SessionRecordAdmin.list_per_page
USERNAME = "operator"
PASSWORD = "operator-password-for-the-browser-test"
WIDTH = 1280  # px, the viewport and the screenshot
SCREENSHOT_HEIGHT = 1100  # px from the top: the summary, the charts, the list's start
SCREENSHOT = ROOT / "docs" / "admin.png"
BLACK = "rgb(0, 0, 0)"  # an SVG shape's fill when no stylesheet sets one


@dataclass
class AdminPage:
    """A logged-in page and everything that went wrong on it so far."""

    page: Page
    problems: list[str] = field(default_factory=list)


def run_script(server: LiveServer, *command: str, **env: str) -> None:
    """Run a project script on the server's database (its environment, and ``env``)."""
    subprocess.run(
        [sys.executable, *command], cwd=ROOT, env={**server.env, **env}, check=True
    )


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server whose database holds the sample records and one superuser."""
    with running_server(tmp_path_factory.mktemp("admin-server")) as server:
        sessions = ["--count", str(SESSIONS), "--days", str(DAYS)]
        run_script(server, "bench/sample_sessions.py", *sessions)
        run_script(
            server,
            *["manage.py", "createsuperuser", "--noinput", "--username", USERNAME],
            *["--email", f"{USERNAME}@example.com"],
            DJANGO_SUPERUSER_PASSWORD=PASSWORD,
        )
        yield server


@pytest.fixture
def admin(browser: Browser, admin_server: LiveServer) -> Iterator[AdminPage]:
    """A fresh context at WIDTH px, logged in through the admin's login form."""
    context = browser.new_context(viewport={"width": WIDTH, "height": 900})
    page = context.new_page()
    admin = AdminPage(page)
    problems = admin.problems
    page.on("console", lambda message: note_console_error(message, problems))
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.on(
        "requestfailed",
        lambda request: problems.append(f"failed: {request.url} {request.failure}"),
    )
    page.on(
        "response",
        lambda response: (
            response.status >= 400
            and problems.append(f"HTTP {response.status}: {response.url}")
        ),
    )
    try:
        page.goto(f"{admin_server.http_url}/admin/login/?next={LIST_PATH}")
        page.fill("#id_username", USERNAME)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"**{LIST_PATH}")
        yield admin
    finally:
        context.close()


def note_console_error(message: ConsoleMessage, problems: list[str]) -> None:
    """Keep a console error, with the address it concerns."""
    if message.type == "error":
        problems.append(f"{message.text} ({message.location.get('url', '')})")


def number(text: str) -> int:
    """``3,000`` or ``3000`` as 3000."""
    return int(text.strip().replace(",", ""))


def test_the_list_shows_the_summary_with_styled_charts_and_a_full_page_of_rows(
    admin: AdminPage,
):
    page = admin.page
    expect(page.locator("#session-summary")).to_be_visible()
    expect(page.locator("#summary-sessions")).to_have_text(f"{SESSIONS:,}")
    for chart in ("#chart-sessions", "#chart-hours"):
        svg = page.locator(f"{chart} svg")
        expect(svg).to_be_visible()
        box = svg.bounding_box()
        assert box is not None and box["width"] > 0 and box["height"] > 0, chart
        expect(page.locator(f"{chart} rect.bar")).to_have_count(DAYS)
    # The bars' fill comes only from admin-summary.css: the admin's --primary.
    fill, primary = page.locator("#chart-sessions rect.bar").first.evaluate(
        """bar => {
            const probe = document.createElement("span");
            probe.style.color = "var(--primary)";
            document.body.append(probe);
            const primary = getComputedStyle(probe).color;
            probe.remove();
            return [getComputedStyle(bar).fill, primary];
        }"""
    )
    assert fill != BLACK
    assert fill == primary
    expect(page.locator("#result_list tbody tr")).to_have_count(LIST_PER_PAGE)

    clip = {"x": 0, "y": 0, "width": WIDTH, "height": SCREENSHOT_HEIGHT}
    png = page.screenshot(full_page=True, clip=clip)
    keep_screenshot(png, SCREENSHOT.name, in_docs=True)
    assert admin.problems == []


def test_a_sidebar_filter_narrows_the_summary_to_the_count_the_list_shows(
    admin: AdminPage,
):
    page = admin.page
    formats = page.locator('#changelist-filter details[data-filter-title="format"]')
    formats.get_by_role("link", name="s16", exact=True).click()
    page.wait_for_url(re.compile(r"[?&]format=s16$"))

    summarized = number(page.locator("#summary-sessions").inner_text())
    paginator = page.locator("p.paginator").inner_text()
    counted = re.search(r"(\d[\d,]*) audio sessions", paginator)
    assert counted, paginator
    results = page.locator("#changelist-search .quiet").inner_text()
    found = re.match(r"(\d[\d,]*) results?", results)
    assert found, results
    assert 0 < summarized < SESSIONS
    assert summarized == number(counted.group(1)) == number(found.group(1))
    rows = min(summarized, LIST_PER_PAGE)
    expect(page.locator("#result_list tbody tr")).to_have_count(rows)
    assert admin.problems == []
