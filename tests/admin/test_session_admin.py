"""The admin's audio sessions: list, filters, summary and a read-only detail page."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from echo.models import SessionRecord

from .conftest import KNOWN, element_text, known_record, known_uuid, today

LIST_URL = reverse("admin:echo_sessionrecord_changelist")


def change_url(n: int) -> str:
    return reverse("admin:echo_sessionrecord_change", args=[known_uuid(n)])


def listed(html: str) -> list[str]:
    """The uuids of the records the list shows, in its order."""
    return re.findall(r"/admin/echo/sessionrecord/([0-9a-f-]{36})/change/", html)


def summary(client: Client, query: str = "") -> dict[str, str]:
    html = client.get(LIST_URL + query).content.decode()
    figures = [
        "sessions",
        "audio-hours",
        "mean-length",
        "p95-length",
        "rtt-p95",
        "error-share",
    ]
    return {name: element_text(html, f"summary-{name}") for name in figures}


def error_rows(html: str) -> list[list[str]]:
    table = re.search(r'<table id="summary-errors">.*?</table>', html, re.S)
    if table is None:
        return []
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(0).split("<tbody>")[1], re.S)
    return [
        [unescape(cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row)]
        for row in rows
    ]


def hierarchy_links(html: str) -> list[str]:
    """The date hierarchy's links down to a year, month or day (not its way back)."""
    nav = re.search(r'<nav class="toplinks">(.*?)</nav>', html, re.S).group(1)
    return [unescape(href) for href in re.findall(r'<a href="([^"]+)">', nav)]


@pytest.fixture
def viewer(db) -> Client:
    """A staff member who may view session records, and do nothing else."""
    user = User.objects.create_user(
        "viewer", password="a-long-viewer-password", is_staff=True
    )
    user.user_permissions.add(Permission.objects.get(codename="view_sessionrecord"))
    client = Client()
    client.force_login(user)
    return client


def test_the_list_shows_every_record_newest_first_with_its_columns(
    admin_client, known_records
):
    response = admin_client.get(LIST_URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert listed(html)[:3] == [str(known_uuid(n)) for n in (10, 9, 8)]
    assert sorted(listed(html)) == sorted(str(known_uuid(n)) for n in range(1, 11))
    row = re.search(rf"{known_uuid(7)}.*?</tr>", html, re.S).group(0)
    started = known_record(7).started_at
    assert re.search(rf"/change/[^>]*>{started:%Y-%m-%d %H:%M:%S}</a></th>", row)
    cells = [unescape(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
    # duration, rate, format, processor, audio, frames, bad frames, peak, p99,
    # RTT, close code
    assert cells == [
        "7 min 00 s",
        "48000",
        "f32",
        "echo",
        "411.0",
        "700",
        "0",
        "-7.0",
        "140",
        "—",
        "4408 idle timeout",
    ]


def test_the_summary_adds_up_every_record(admin_client, known_records):
    html = admin_client.get(LIST_URL).content.decode()
    assert summary(admin_client) == {
        "sessions": "10",
        "audio-hours": "0.89 h",  # 3,210 s of audio
        "mean-length": "5 min 30 s",
        "p95-length": "10 min 00 s",
        "rtt-p95": "40.0 ms",  # the 5th of 5 reports: 5, 7, 9, 11, 40
        "error-share": "40.0 %",
    }
    assert "1 with no end yet" in html
    assert "reported by 5 sessions" in html
    assert error_rows(html) == [
        ["idle_timeout", "4408 idle timeout", "2", "20.0 %"],
        ["processing_failed", "4500 processing failed", "1", "10.0 %"],
        ["too_many_errors", "4429 too many errors or messages", "1", "10.0 %"],
    ]


def test_the_charts_have_a_bar_per_day_from_the_first_session_to_the_last(
    admin_client, known_records
):
    html = admin_client.get(LIST_URL).content.decode()
    sessions_chart = re.search(r'id="chart-sessions".*?</figure>', html, re.S).group(0)
    hours_chart = re.search(r'id="chart-hours".*?</figure>', html, re.S).group(0)
    first, last = today() - timedelta(days=40), today() - timedelta(days=2)
    titles = re.findall(r"<title>(.*?)</title>", sessions_chart)
    assert len(titles) == 39
    assert titles[0] == f"{first}: 3 sessions"
    assert titles[1] == f"{first + timedelta(days=1)}: 0 sessions"
    assert titles[-2:] == [
        f"{last - timedelta(days=1)}: 4 sessions",
        f"{last}: 3 sessions",
    ]
    hours = re.findall(r"<title>(.*?)</title>", hours_chart)
    # 333 s, 1,284 s and 1,593 s of audio
    assert [hours[0], hours[-2], hours[-1]] == [
        f"{first}: 0.09 h",
        f"{last - timedelta(days=1)}: 0.36 h",
        f"{last}: 0.44 h",
    ]
    heights = [
        float(h)
        for h in re.findall(r'class="bar"[^>]*height="([\d.]+)"', sessions_chart)
    ]
    assert heights[-2] > heights[0] == heights[-1] > heights[1] == 0


@pytest.mark.parametrize(
    ("query", "expected", "errors"),
    [
        (
            "?format__exact=s16",
            {
                "sessions": "5",
                "audio-hours": "0.49 h",  # 1,755 s
                "mean-length": "6 min 00 s",
                "p95-length": "10 min 00 s",
                "rtt-p95": "11.0 ms",
                "error-share": "20.0 %",
            },
            [["processing_failed", "4500 processing failed", "1", "20.0 %"]],
        ),
        (
            "?rate__exact=48000",
            {
                "sessions": "3",
                "audio-hours": "0.34 h",  # 1,233 s
                "mean-length": "7 min 00 s",
                "p95-length": "8 min 00 s",
                "rtt-p95": "11.0 ms",
                "error-share": "33.3 %",
            },
            [["idle_timeout", "4408 idle timeout", "1", "33.3 %"]],
        ),
        (
            "?processor__exact=gain",
            {
                "sessions": "2",
                "audio-hours": "0.31 h",  # 1,122 s
                "mean-length": "9 min 30 s",
                "p95-length": "10 min 00 s",
                "rtt-p95": "40.0 ms",
                "error-share": "50.0 %",
            },
            [["processing_failed", "4500 processing failed", "1", "50.0 %"]],
        ),
        (
            "?close_code=4408",
            {
                "sessions": "2",
                "audio-hours": "0.16 h",  # 582 s
                "mean-length": "5 min 00 s",
                "p95-length": "7 min 00 s",
                "rtt-p95": "—",
                "error-share": "100.0 %",
            },
            [["idle_timeout", "4408 idle timeout", "2", "100.0 %"]],
        ),
        (
            "?close_code=none",
            {
                "sessions": "1",
                "audio-hours": "0.13 h",  # 471 s
                "mean-length": "8 min 00 s",
                "p95-length": "8 min 00 s",
                "rtt-p95": "—",
                "error-share": "0.0 %",
            },
            [],
        ),
    ],
)
def test_each_filter_narrows_the_list_and_the_summary_together(
    admin_client, known_records, query, expected, errors
):
    html = admin_client.get(LIST_URL + query).content.decode()
    assert len(listed(html)) == int(expected["sessions"])
    assert summary(admin_client, query) == expected
    assert error_rows(html) == errors


def test_the_close_code_filter_offers_the_codes_found_with_their_meaning(
    admin_client, known_records
):
    html = admin_client.get(LIST_URL).content.decode()
    sidebar = html[html.index('id="changelist-filter"') :]
    offered = re.findall(r'href="\?close_code=([^"&]+)"[^>]*>(.*?)</a>', sidebar)
    assert [(code, unescape(text)) for code, text in offered] == [
        ("none", "none"),
        ("1000", "1000 normal"),
        ("1001", "1001 going away"),
        ("1006", "1006 connection lost"),
        ("4408", "4408 idle timeout"),
        ("4429", "4429 too many errors or messages"),
        ("4500", "4500 processing failed"),
    ]


def test_the_past_7_days_filter_leaves_out_the_sessions_of_40_days_ago(
    admin_client, known_records
):
    html = admin_client.get(LIST_URL).content.decode()
    link = re.search(r'href="(\?started_at__gte=[^"]+)"[^>]*>Past 7 days<', html)
    assert link, "the date filter offers the past 7 days"
    query = unescape(link.group(1))
    assert sorted(
        listed(admin_client.get(LIST_URL + query).content.decode())
    ) == sorted(str(known_uuid(n)) for n in range(4, 11))
    assert summary(admin_client, query)["sessions"] == "7"


def test_the_date_hierarchy_drills_down_to_one_day(admin_client, known_records):
    day = today() - timedelta(days=2)
    query = (
        f"?started_at__year={day.year}&started_at__month={day.month}"
        f"&started_at__day={day.day}"
    )
    html = admin_client.get(LIST_URL + query).content.decode()
    assert sorted(listed(html)) == sorted(str(known_uuid(n)) for n in (8, 9, 10))
    assert summary(admin_client, query)["sessions"] == "3"


@pytest.mark.parametrize(
    ("term", "found"),
    [
        (str(known_uuid(3)), [3]),  # the uuid as the ready message sent it
        (known_uuid(3).hex.upper(), [3]),  # or written without dashes
        ("00000003", [3]),  # its start, as an operator copies it
        ("203.0.113", [1]),  # part of an IPv4 address
        ("2001:db8::1", [2]),
        ("2001:DB8:0:0::1", [2]),  # the same address, written out
        ("203.0.113.7", [1]),
        ("203.0.113.70", []),
        ("no-such-session", []),
    ],
)
def test_search_finds_a_session_by_uuid_or_client_address(
    admin_client, known_records, term, found
):
    html = admin_client.get(LIST_URL, {"q": term}).content.decode()
    assert sorted(listed(html)) == sorted(str(known_uuid(n)) for n in found)
    assert summary(admin_client, f"?q={term}")["sessions"] == str(len(found))


def test_the_date_hierarchy_offers_the_months_then_the_days_that_have_sessions(
    admin_client, known_records
):
    starts = [known_record(n).started_at for n in KNOWN]
    years = sorted({start.year for start in starts})
    html = admin_client.get(LIST_URL).content.decode()
    if len(years) > 1:  # the records straddle a new year
        assert hierarchy_links(html) == [f"?started_at__year={y}" for y in years]
        html = admin_client.get(LIST_URL + f"?started_at__year={years[-1]}")
        html = html.content.decode()
    year = years[-1]
    months = sorted({s.month for s in starts if s.year == year})
    if len(months) > 1:
        assert hierarchy_links(html) == [
            f"?started_at__month={m}&started_at__year={year}" for m in months
        ]
        query = f"?started_at__month={months[-1]}&started_at__year={year}"
        html = admin_client.get(LIST_URL + query).content.decode()
    month = months[-1]
    days = sorted({s.day for s in starts if (s.year, s.month) == (year, month)})
    assert hierarchy_links(html) == [
        f"?started_at__day={d}&started_at__month={month}&started_at__year={year}"
        for d in days
    ]


def test_an_empty_selection_has_a_summary_of_nothing_and_no_charts(admin_client, db):
    html = admin_client.get(LIST_URL).content.decode()
    assert summary(admin_client) == {
        "sessions": "0",
        "audio-hours": "0.00 h",
        "mean-length": "—",
        "p95-length": "—",
        "rtt-p95": "—",
        "error-share": "—",
    }
    assert 'id="chart-sessions"' not in html


def test_the_detail_page_shows_every_field_in_sections_and_offers_no_edit(
    admin_client, known_records
):
    html = admin_client.get(change_url(5)).content.decode()
    sections = [unescape(s) for s in re.findall(r"<h2[^>]*>(.*?)</h2>", html)]
    for section in [
        "Session",
        "Audio",
        "Traffic",
        "Faults",
        "Levels",
        "Processing",
        "What the client reported",
        "How it ended",
        "Where",
    ]:
        assert section in sections
    assert "4429 too many errors or messages" in html
    assert "too_many_errors" in html
    assert "5 min 00 s" in html
    assert (
        re.search(
            r"<(input|select|textarea)[^>]*name=\"(rate|format|bad_frames)\"", html
        )
        is None
    )
    assert 'name="_save"' not in html


def test_a_post_to_the_detail_page_changes_nothing(admin_client, known_records):
    response = admin_client.post(change_url(5), {"rate": "8000", "bad_frames": "0"})
    assert response.status_code == 403
    record = SessionRecord.objects.get(pk=known_uuid(5))
    assert (record.rate, record.bad_frames) == (16384, 60)


def test_no_one_can_add_a_record_by_hand(admin_client, db):
    assert admin_client.get(reverse("admin:echo_sessionrecord_add")).status_code == 403


def test_a_superuser_may_delete_a_record(admin_client, known_records):
    delete_url = reverse("admin:echo_sessionrecord_delete", args=[known_uuid(5)])
    assert delete_url in admin_client.get(change_url(5)).content.decode()
    response = admin_client.post(delete_url, {"post": "yes"})
    assert response.status_code == 302
    assert not SessionRecord.objects.filter(pk=known_uuid(5)).exists()
    assert SessionRecord.objects.count() == 9


def test_a_staff_viewer_sees_the_list_and_summary_but_cannot_delete(
    viewer, known_records
):
    assert summary(viewer)["sessions"] == "10"
    delete_url = reverse("admin:echo_sessionrecord_delete", args=[known_uuid(5)])
    assert delete_url not in viewer.get(change_url(5)).content.decode()
    assert viewer.post(delete_url, {"post": "yes"}).status_code == 403
    assert SessionRecord.objects.filter(pk=known_uuid(5)).exists()


def test_a_user_who_is_not_staff_is_sent_to_the_login_page(client, known_records):
    user = User.objects.create_user("listener", password="a-long-listener-password")
    client.force_login(user)
    response = client.get(LIST_URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
    assert client.get(change_url(1)).status_code == 302


@pytest.mark.parametrize("query", ["?close_code=loud", "?rate__exact=fast"])
def test_a_malformed_filter_sends_back_to_the_list_rather_than_failing(
    admin_client, known_records, query
):
    response = admin_client.get(LIST_URL + query)
    assert response.status_code == 302
    assert response.url.endswith("?e=1")
    assert summary(admin_client, "?e=1")["sessions"] == "10"


def test_the_detail_page_shows_the_chain_with_each_options_latest_value(
    admin_client, known_records
):
    SessionRecord.objects.filter(pk=known_uuid(5)).update(
        processor="highpass,gain",
        chain=[
            {"name": "highpass", "options": {"order": 4, "cutoff_hz": 300.0}},
            {"name": "gain", "options": {"db": -6.5}},
        ],
    )
    html = unescape(admin_client.get(change_url(5)).content.decode())
    assert "highpass (cutoff_hz 300, order 4) → gain (db -6.5)" in html
