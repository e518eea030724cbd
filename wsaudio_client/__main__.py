"""``python -m wsaudio_client``: the ``echo`` and ``loadtest`` commands.

Both run on uvloop: it cuts the load generator's CPU per frame by about a quarter.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import uvloop

from . import report
from .errors import WsaudioError
from .loadtest import LoadTest, LoadTestLimits, run_loadtest
from .reconnect import Reconnect
from .stream_file import echo_file
from .wire import DEFAULT_FRAME_SAMPLES, DEFAULT_RATE, FORMATS, OPTION_KEY

DEFAULT_SERVER = "ws://127.0.0.1:8000"
EXIT_SESSION_FAILED = 1  # the server could not be reached or ended the session
EXIT_USAGE = 2  # what argparse uses for bad arguments
EXIT_NOT_HELD = 3  # loadtest --check: the server did not hold real time


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.command(args)
    except ValueError as bad:
        print(f"wsaudio_client: {bad}", file=sys.stderr)
        return EXIT_USAGE
    except WsaudioError as failed:
        print(f"wsaudio_client: {type(failed).__name__}: {failed}", file=sys.stderr)
        for note in getattr(failed, "__notes__", ()):
            print(f"wsaudio_client: {note}", file=sys.stderr)
        return EXIT_SESSION_FAILED


def _echo(args: argparse.Namespace) -> int:
    progress = report.progress(enabled=not args.quiet and sys.stderr.isatty())
    with progress:
        task = progress.add_task("frames answered", total=None)
        run = uvloop.run(
            echo_file(
                args.server,
                args.input,
                output_path=args.output,
                rate=args.rate,
                format=args.format,
                processor=args.processor,
                options=dict(args.option),
                frame_samples=args.frame_samples,
                speed=args.speed,
                on_reply=lambda done, total: progress.update(
                    task, completed=done, total=total
                ),
                reconnect=_reconnect(args),
            )
        )
    _print(run.summary(), args.json, report.echo_tables)
    return 0


def _loadtest(args: argparse.Namespace) -> int:
    test = LoadTest(
        server=args.server,
        streams=args.streams,
        seconds=args.seconds,
        rate=args.rate,
        format=args.format,
        processor=args.processor,
        frame_samples=args.frame_samples,
        ramp_batch=args.ramp_batch,
        ramp_interval=args.ramp_interval,
        slow_readers=args.slow_readers,
        server_pid=args.server_pid,
        allow_remote=args.allow_remote,
        seed=args.seed,
        reconnect=_reconnect(args),
    )
    results = uvloop.run(run_loadtest(test))
    _print(results.summary(), args.json, report.loadtest_tables)
    if args.check and not results.held_real_time:
        return EXIT_NOT_HELD
    return 0


def _reconnect(args: argparse.Namespace) -> Reconnect | None:
    """The policy ``--reconnect`` asks for; ``--reconnect-deadline`` implies it."""
    if args.reconnect_deadline is not None:
        return Reconnect(deadline=args.reconnect_deadline)
    return Reconnect() if args.reconnect else None


def _option(text: str) -> tuple[str, str]:
    """``NAME.OPTION=VALUE`` as a query key and its value; the server checks both."""
    key, equals, value = text.partition("=")
    if not equals or not OPTION_KEY.fullmatch(key):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not NAME.OPTION=VALUE, such as gain.db=-6"
        )
    return key, value


def _print(summary: dict[str, Any], as_json: bool, tables) -> None:
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        report.print_tables(tables(summary))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m wsaudio_client",
        description="Stream audio through a wsaudio server, or load it.",
    )
    commands = parser.add_subparsers(required=True, metavar="command")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--server",
        default=DEFAULT_SERVER,
        help=f"the server's base URL, ws:// or http:// (default {DEFAULT_SERVER})",
    )
    common.add_argument(
        "--rate", type=int, default=DEFAULT_RATE, help="session rate in Hz"
    )
    common.add_argument("--format", choices=tuple(FORMATS), default="f32")
    common.add_argument(
        "--frame-samples",
        type=int,
        default=DEFAULT_FRAME_SAMPLES,
        help=f"samples per frame (default {DEFAULT_FRAME_SAMPLES})",
    )
    common.add_argument(
        "--json", action="store_true", help="print the results as JSON on stdout"
    )
    common.add_argument(
        "--reconnect",
        action="store_true",
        help="when the server goes (shutting down, restarted, connection dropped), "
        "open a new session and carry on; the frames lost in between are reported",
    )
    common.add_argument(
        "--reconnect-deadline",
        type=float,
        metavar="SECONDS",
        help=f"give up reconnecting this long after a session ended (default "
        f"{Reconnect.deadline:g}); implies --reconnect",
    )

    echo = commands.add_parser(
        "echo",
        parents=[common],
        help="stream a file through the server and save what comes back",
        description="Stream an audio file (any rate and channel count; mixed to "
        "mono and resampled to --rate) at real-time pace, write the replies to "
        "--output, and report lost and mismatched frames, round-trip times and "
        "what analysis processors reported.",
    )
    echo.add_argument("input", help="a WAV, FLAC or other libsndfile file")
    echo.add_argument(
        "-o", "--output", help="write the replies here (WAV or FLAC, mono, at --rate)"
    )
    echo.add_argument(
        "--processor",
        help="a chain of processors from /api/info/, separated by commas, such as "
        "highpass,gain (default echo)",
    )
    echo.add_argument(
        "--option",
        type=_option,
        action="append",
        default=[],
        metavar="NAME.OPTION=VALUE",
        help="an option of a processor in the chain, such as gain.db=-6; repeatable",
    )
    echo.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="pace as a multiple of real time, up to the server's "
        "max_realtime_factor (default 1)",
    )
    echo.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    echo.set_defaults(command=_echo)

    limits = LoadTestLimits
    load = commands.add_parser(
        "loadtest",
        parents=[common],
        help="run many real-time streams and check every reply",
        description="Open --streams concurrent real-time streams for --seconds, "
        "check every reply byte for byte, and say whether the server held real "
        "time: no connect failures, no mismatches, at least 99.9%% of frames back "
        "and a p99 round trip of at most 20 ms. Loopback servers only, unless "
        "--allow-remote.",
    )
    load.add_argument(
        "--streams", type=int, default=20, help=f"1 to {limits.max_streams}"
    )
    load.add_argument(
        "--seconds",
        type=float,
        default=10.0,
        help=f"how long each stream sends, up to {limits.max_seconds:g}",
    )
    load.add_argument(
        "--processor",
        default="echo",
        help="echo, or another chain of identities (echo, analysis): only replies "
        "that should equal their frames can be checked",
    )
    load.add_argument(
        "--ramp-batch", type=int, default=50, help="connections opened at a time"
    )
    load.add_argument(
        "--ramp-interval",
        type=float,
        default=0.1,
        help="seconds between batches of connections",
    )
    load.add_argument(
        "--slow-readers",
        type=int,
        default=0,
        metavar="K",
        help="also run K streams that send at real time and never read",
    )
    load.add_argument(
        "--server-pid", type=int, help="report this process's CPU and memory"
    )
    load.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a server that is not on this machine (you must own it)",
    )
    load.add_argument("--seed", type=int, help="seed the streams' phases")
    load.add_argument(
        "--check",
        action="store_true",
        help=f"exit with {EXIT_NOT_HELD} when the server did not hold real time",
    )
    load.set_defaults(command=_loadtest)
    return parser


if __name__ == "__main__":
    sys.exit(main())
