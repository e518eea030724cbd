"""The processing lane and the budget: order kept, cost counted, nothing leaked."""

import asyncio
import random
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from echo.processing import Lane
from echo.processors import Chain, Processor, build_registry
from echo.protocol import ErrorCode, ProtocolError
from echo.sessions.limits import ProcessingBudget
from tests.extra_processors import PureDelay, Sleepy


class RunningSum(Processor):
    """Stateful, and slow by a random few milliseconds: its output is the running
    sum of everything it got, so any frame processed out of turn shows."""

    name = "running_sum"
    description = "the running sum of the stream"
    heavy = True
    cost_per_second = {8000: 0.1}

    def __init__(self, rate, **values):
        super().__init__(rate, **values)
        self.total = 0.0
        self.random = random.Random(7)

    def process(self, block):
        time.sleep(self.random.uniform(0, 0.003))
        sums = self.total + np.cumsum(block, dtype=np.float64)
        self.total = sums[-1]
        return sums.astype(np.float32)


async def test_a_lane_keeps_frames_and_steps_in_order_under_random_frame_sizes():
    rng = np.random.default_rng(3)
    stream = rng.standard_normal(20_000).astype(np.float32) / 100
    cuts = np.sort(rng.choice(np.arange(1, stream.size), size=60, replace=False))
    blocks = np.split(stream, cuts)
    processor = RunningSum(16000)
    events: list = []
    done = asyncio.Event()

    def finish(index, future):
        events.append(("frame", index, future.result()))
        if index == len(blocks) - 1:
            done.set()

    with ThreadPoolExecutor(2) as pool:
        lane = Lane(pool, lambda index: processor.process(blocks[index]), finish)
        for index, block in enumerate(blocks):
            lane.submit(index, block.size)
            if index % 7 == 0:
                lane.then(lambda index=index: events.append(("step", index)))
        await asyncio.wait_for(done.wait(), 10)
    order = [(kind, index) for kind, index, *_ in events]
    expected = []
    for index in range(len(blocks)):
        expected.append(("frame", index))
        if index % 7 == 0:
            expected.append(("step", index))
    assert order == expected
    heard = np.concatenate([event[2] for event in events if event[0] == "frame"])
    assert np.allclose(heard, np.cumsum(stream, dtype=np.float64), atol=1e-4)
    assert (lane.waiting_samples, lane.waiting_steps, lane.idle) == (0, 0, True)


async def test_a_stopped_lane_drops_what_waits_and_the_outcome_of_what_runs():
    finished = []
    with ThreadPoolExecutor(1) as pool:
        lane = Lane(
            pool, lambda job: time.sleep(0.05), lambda job, _: finished.append(job)
        )
        lane.submit("running", 100)
        lane.submit("waiting", 100)
        lane.then(lambda: finished.append("step"))
        assert (lane.waiting_samples, lane.waiting_steps) == (200, 1)
        lane.stop()
        lane.submit("after", 100)
        lane.then(lambda: finished.append("after step"))
        await asyncio.sleep(0.15)
    assert finished == []
    assert (lane.waiting_samples, lane.waiting_steps) == (0, 0)


async def test_an_idle_lane_runs_a_step_at_once():
    with ThreadPoolExecutor(1) as pool:
        steps = []
        Lane(pool, None, None).then(lambda: steps.append("now"))
        assert steps == ["now"]


def test_the_budget_admits_while_the_costs_fit_and_frees_them_exactly():
    budget = ProcessingBudget()
    for _ in range(3):
        budget.admit(0.1, 0.3)  # 0.1 three times is 0.30000000000000004: fits
    with pytest.raises(ProtocolError) as refused:
        budget.admit(0.1, 0.3)
    assert refused.value.code is ErrorCode.BUSY
    assert refused.value.close_code == 4503
    assert "processing budget" in refused.value.detail
    assert (budget.sessions, budget.in_use) == (3, pytest.approx(0.3))
    for _ in range(3):
        budget.release(0.1)
    assert (budget.sessions, budget.in_use) == (0, 0.0)
    budget.admit(0.3, 0.3)
    with pytest.raises(ProtocolError):
        budget.admit(0.0001, 0.3)


def test_a_chain_alone_over_the_budget_is_never_admitted():
    with pytest.raises(ProtocolError):
        ProcessingBudget().admit(2.0, 1.6)


def test_a_heavy_cost_is_interpolated_between_the_measured_rates_and_flat_beyond():
    class Measured(Sleepy):
        cost_per_second = {8000: 0.1, 16000: 0.2, 48000: 0.6}

    assert Measured.cost(4000) == 0.1
    assert Measured.cost(12000) == pytest.approx(0.15)
    assert Measured.cost(16384) == pytest.approx(0.2 + 384 / 32000 * 0.4)
    assert Measured.cost(96000) == 0.6
    assert PureDelay.cost(48000) == 0.0  # light: never counted


def test_a_chain_adds_up_its_heavy_costs_and_its_latencies():
    chain = Chain([Sleepy(16000), PureDelay(16000, samples=30), RunningSum(16000)])
    assert chain.heavy
    assert chain.cost == pytest.approx(0.4 + 0.1)
    assert chain.latency_samples == 30
    light = Chain([PureDelay(16000, samples=5)])
    assert (light.heavy, light.cost, light.latency_samples) == (False, 0.0, 5)


def test_the_registry_refuses_a_heavy_processor_that_declares_no_cost():
    class Uncosted(Processor):
        name = "uncosted"
        description = "heavy, with no cost"
        heavy = True

    with pytest.raises(ValueError, match="cost_per_second"):
        build_registry([Uncosted])


async def test_a_closing_lane_finishes_what_it_holds_then_its_last_step_and_no_more():
    events = []
    done = asyncio.Event()
    with ThreadPoolExecutor(1) as pool:
        lane = Lane(
            pool, lambda job: time.sleep(0.02), lambda job, _: events.append(job)
        )
        lane.submit("first", 10)
        lane.submit("second", 10)
        lane.close_with(lambda: (events.append("closing error"), done.set()))
        lane.submit("after", 10)
        lane.then(lambda: events.append("after step"))
        await asyncio.wait_for(done.wait(), 5)
    assert events == ["first", "second", "closing error"]
