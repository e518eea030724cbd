"""Make plausible random session records, for benchmarks and demos only.

Nothing here is measured: the records look like what a busy server writes (more
sessions on weekdays and in the afternoon, mostly 16384 Hz, a few % closed by the
server after an error, a handful still running) so that the admin and its summary
can be timed and looked at with realistic data. Never point it at a database whose
records matter.

Run from the project root: ``.venv/bin/python bench/sample_sessions.py --count N
[--days D]`` adds N records to the database DATABASE_URL names.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from echo.models import SessionRecord

FRAME_SAMPLES = 1024  # what the browser page and the load generator send
BATCH = 5000  # rows per INSERT of the command line's bulk_create
RATES = {8000: 0.04, 16000: 0.06, 16384: 0.70, 44100: 0.08, 48000: 0.12}
FORMATS = {"f32": 0.65, "s16": 0.35}
SAMPLE_BYTES = {"f32": 4, "s16": 2}
# Close code, close_error and share: clients end most sessions, the server a few %.
ENDINGS = [
    (1000, "", 0.745),  # the client pressed Stop
    (1001, "", 0.15),  # tab closed or navigated away
    (1006, "", 0.075),  # connection lost
    (4408, "idle_timeout", 0.018),
    (4429, "too_many_errors", 0.008),
    (4500, "processing_failed", 0.004),
]
MAX_ERRORS = 50  # WSAUDIO_MAX_ERRORS's default: what too_many_errors sessions spent
WEEKEND_WEIGHT = 0.45  # a Saturday or Sunday sees under half a weekday's sessions
RUNNING = 5  # sessions still open when the records are made
RTT_SHARE = 0.7  # sessions whose client sent client_stats (the browser page does)
IP_SHARE = 0.5  # sessions recorded with WSAUDIO_STORE_CLIENT_IP on
MEDIAN_SECONDS = 90.0  # session lengths are log-normal around a minute and a half
LENGTH_SIGMA = 1.3  # so the p95 is about 12 minutes and a few run over an hour
MAX_SECONDS = 4 * 3600.0  # the longest: a tab left open all afternoon


def hour_weights() -> np.ndarray:
    """How likely a session starts in each UTC hour: quiet at night, a peak at 14h."""
    hours = np.arange(24)
    daytime = np.clip(np.sin(np.pi * (hours - 6) / 16), 0.0, None)
    weights = 0.15 + daytime
    return weights / weights.sum()


def pick(rng: np.random.Generator, shares: Sequence[float], count: int) -> np.ndarray:
    """``count`` indices into ``shares``, each drawn with its share's weight."""
    weights = np.asarray(shares, dtype=float)
    return rng.choice(len(weights), size=count, p=weights / weights.sum())


def start_times(
    rng: np.random.Generator, count: int, days: int, end: datetime
) -> np.ndarray:
    """Seconds before ``end`` at which ``count`` sessions started, over the ``days``
    UTC days up to ``end``'s: every day gets one when ``count >= days``, then
    weekdays more than weekends, afternoons more than nights, none after ``end``."""
    first_day = datetime.combine(
        end.date() - timedelta(days=days - 1), datetime.min.time(), UTC
    )
    weights = np.array(
        [
            WEEKEND_WEIGHT if (first_day + timedelta(days=d)).weekday() >= 5 else 1.0
            for d in range(days)
        ]
    )
    guaranteed = np.arange(min(count, days))
    drawn = rng.choice(days, size=count - guaranteed.size, p=weights / weights.sum())
    day = np.concatenate([guaranteed, drawn])
    second = 3600 * rng.choice(24, size=count, p=hour_weights())
    second = second + rng.uniform(0, 3600, count)
    today_so_far = (
        end - datetime.combine(end.date(), datetime.min.time(), UTC)
    ).total_seconds()
    late = (day == days - 1) & (second >= today_so_far)
    second[late] = rng.uniform(0, today_so_far, late.sum())
    return (end - first_day).total_seconds() - (day * 86400.0 + second)


def sample_sessions(
    count: int, *, days: int = 30, seed: int = 0, end: datetime | None = None
) -> list[SessionRecord]:
    """``count`` unsaved records that started over the last ``days`` UTC days
    (today's included, up to ``end``, by default now); the same ``seed`` and ``end``
    give the same records."""
    # Imported here: the command line configures Django before the model loads.
    from echo.models import SessionRecord

    rng = np.random.default_rng(seed)
    end = (end or datetime.now(UTC)).astimezone(UTC)
    ago = start_times(rng, count, days, end)  # seconds before end
    running = np.zeros(count, dtype=bool)
    running[np.argsort(ago)[:RUNNING]] = True  # the latest few have not ended yet

    length = rng.lognormal(np.log(MEDIAN_SECONDS), LENGTH_SIGMA, count)
    length = np.clip(length, 1.0, MAX_SECONDS)
    # An open session is somewhere in its length, so it started at most that long
    # ago (later, never on another day); its duration is the time so far.
    ago = np.where(running, np.minimum(ago, length * rng.random(count)), ago)
    # A session cannot have ended after end: it lasted at most until then.
    length = np.where(running, ago, np.minimum(length, ago))
    rate = np.array(list(RATES))[pick(rng, list(RATES.values()), count)]
    fmt = np.array(list(FORMATS))[pick(rng, list(FORMATS.values()), count)]
    ending = pick(rng, [share for *_, share in ENDINGS], count)
    # Audio starts after ready and stops a little before the close.
    streamed = length * rng.uniform(0.9, 0.995, count)
    frames = np.floor(streamed * rate / FRAME_SAMPLES).astype(np.int64)
    peak = np.clip(rng.normal(-6.0, 4.0, count), -40.0, 0.0)
    rms = peak - rng.uniform(9.0, 20.0, count)
    # 1024 samples at 16384 Hz take about 15 µs; cost grows with the frame's rate.
    proc_mean = rng.lognormal(np.log(15.0), 0.25, count) * (rate / 16384) ** 0.3
    proc_p99 = proc_mean * rng.uniform(1.6, 3.5, count)
    proc_max = proc_p99 * rng.lognormal(np.log(2.5), 0.6, count)
    reported = rng.random(count) < RTT_SHARE
    rtt_p50 = rng.lognormal(np.log(9.0), 0.7, count)
    rtt_p95 = rtt_p50 * rng.uniform(1.3, 3.0, count)
    buffered = 125.0 + rng.normal(0.0, 20.0, count)  # about two 62.5 ms frames
    underruns = rng.poisson(0.6, count)
    overruns = rng.poisson(0.1, count)
    bad = np.where(rng.random(count) < 0.02, rng.integers(1, 10, count), 0)
    limited = np.where(rng.random(count) < 0.01, rng.integers(1, 30, count), 0)
    with_ip = rng.random(count) < IP_SHARE
    ip_kind = rng.integers(0, 3, count)
    ip_host = rng.integers(1, 255, count)
    pid = rng.integers(4000, 4008, count)

    records = []
    for i in range(count):
        code, error, _ = (None, "", 0) if running[i] else ENDINGS[ending[i]]
        started = end - timedelta(seconds=float(ago[i]))
        frames_in = int(frames[i])
        bad_frames = MAX_ERRORS if error == "too_many_errors" else int(bad[i])
        # Each bad or dropped frame got an error message, and so did the close.
        errors = bad_frames + int(limited[i]) + bool(error)
        sample_bytes = SAMPLE_BYTES[fmt[i]] * FRAME_SAMPLES
        records.append(
            SessionRecord(
                uuid=uuid.UUID(bytes=rng.bytes(16), version=4),
                started_at=started,
                ended_at=None
                if running[i]
                else started + timedelta(seconds=float(length[i])),
                duration_seconds=float(length[i]),
                rate=int(rate[i]),
                format=str(fmt[i]),
                processor="echo",
                frames_in=frames_in,
                frames_out=frames_in,  # the echo answers every accepted frame
                bytes_in=(frames_in + bad_frames + int(limited[i])) * sample_bytes,
                bytes_out=frames_in * sample_bytes,
                audio_seconds=frames_in * FRAME_SAMPLES / int(rate[i]),
                bad_frames=bad_frames,
                rate_limited_frames=int(limited[i]),
                errors=errors,
                peak_dbfs=round(float(peak[i]), 2),
                rms_dbfs=round(float(rms[i]), 2),
                proc_us_mean=round(float(proc_mean[i]), 1),
                proc_us_p99=round(float(proc_p99[i]), 1),
                proc_us_max=round(float(proc_max[i]), 1),
                **client_stats(
                    reported[i],
                    rtt_p50[i],
                    rtt_p95[i],
                    buffered[i],
                    underruns[i],
                    overruns[i],
                ),
                ended_by=ended_by(running[i], error),
                close_code=code,
                close_error=error,
                worker_host=f"worker-{'ab'[int(pid[i]) % 2]}",
                worker_pid=int(pid[i]),
                client_ip=client_ip(ip_kind[i], ip_host[i]) if with_ip[i] else None,
            )
        )
    return records


def client_stats(
    reported: bool,
    rtt_p50: float,
    rtt_p95: float,
    buffered: float,
    underruns: int,
    overruns: int,
) -> dict[str, float | int | None]:
    """The client_* fields: all null when the client sent no client_stats."""
    if not reported:
        return {
            "client_rtt_ms_p50": None,
            "client_rtt_ms_p95": None,
            "client_buffered_ms": None,
            "client_underruns": None,
            "client_overruns": None,
        }
    return {
        "client_rtt_ms_p50": round(float(rtt_p50), 2),
        "client_rtt_ms_p95": round(float(rtt_p95), 2),
        "client_buffered_ms": round(float(buffered), 1),
        "client_underruns": int(underruns),
        "client_overruns": int(overruns),
    }


def ended_by(running: bool, error: str) -> str:
    """Nobody, while it runs; the server, when it closed after an error."""
    from echo.models import SessionRecord

    if running:
        return ""
    return SessionRecord.EndedBy.SERVER if error else SessionRecord.EndedBy.CLIENT


def client_ip(kind: int, host: int) -> str:
    """An address from the documentation ranges (RFC 5737, RFC 3849)."""
    return ("203.0.113.{}", "198.51.100.{}", "2001:db8::{:x}")[kind].format(host)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, required=True, help="records to add")
    parser.add_argument("--days", type=int, default=30, help="spread over this many")
    parser.add_argument("--seed", type=int, default=0, help="numpy's random seed")
    args = parser.parse_args()

    # bench/, echo/ and wsaudio_site/ live at the project root, one level up.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wsaudio_site.settings")
    import django

    django.setup()
    from echo.models import SessionRecord

    records = sample_sessions(args.count, days=args.days, seed=args.seed)
    SessionRecord.objects.bulk_create(records, batch_size=BATCH)
    print(f"wrote {len(records):,} sample session records")


if __name__ == "__main__":
    main()
