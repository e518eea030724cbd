"""How lengths, shares and close codes read in the admin and the report."""

import pytest

from echo.protocol import CloseCode
from echo.records.display import (
    close_code_text,
    duration_text,
    hours_text,
    milliseconds_text,
    share_text,
)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0.25, "0.2 s"),
        (42, "42.0 s"),
        (59.94, "59.9 s"),
        (60, "1 min 00 s"),
        (187.4, "3 min 07 s"),
        (3599.4, "59 min 59 s"),
        (3600, "1 h 00 min"),
        (7500, "2 h 05 min"),
        (90000, "25 h 00 min"),
    ],
)
def test_durations_read_in_seconds_minutes_or_hours(seconds, text):
    assert duration_text(seconds) == text


@pytest.mark.parametrize(
    ("hours", "text"),
    [(0, "0.00 h"), (0.254, "0.25 h"), (12.34, "12.3 h"), (1234.5, "1,234 h")],
)
def test_audio_hours_keep_three_significant_figures_or_so(hours, text):
    assert hours_text(hours) == text


@pytest.mark.parametrize(
    ("share", "text"),
    [
        (0, "0.0 %"),
        (0.0004, "0.04 %"),
        (0.2, "20.0 %"),
        (1 / 3, "33.3 %"),
        (1, "100.0 %"),
    ],
)
def test_a_rare_error_share_never_reads_as_zero(share, text):
    assert share_text(share) == text


def test_every_server_close_code_reads_with_its_meaning():
    for code in CloseCode:
        text = close_code_text(code)
        assert text.startswith(f"{int(code)} ") and text.split(" ", 1)[1].islower()
    assert close_code_text(4509) == "4509 client not reading"
    assert close_code_text(1006) == "1006 connection lost"
    assert close_code_text(3999) == "3999"
    assert close_code_text(None) == "—"
    assert milliseconds_text(None) == "—"
    assert milliseconds_text(2.345) == "2.3 ms"
