"""What each heavy processor declares for admission covers what a session of it
cost the process in the benchmark, the hand-over to a processing thread included
(docs/processor-cost.json, written by bench/processor_cost.py)."""

import json
from pathlib import Path

import pytest

from echo.processors import PROCESSORS

MEASURED = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "processor-cost.json").read_text()
)["heavy"]
HEAVY = sorted(name for name, cls in PROCESSORS.items() if cls.heavy)


def test_every_heavy_processor_was_measured_at_every_rate_it_declares():
    measured = {(row["processor"], row["rate"]) for row in MEASURED}
    for name in HEAVY:
        for rate in PROCESSORS[name].cost_per_second:
            assert (name, rate) in measured


@pytest.mark.parametrize("row", MEASURED, ids=lambda r: f"{r['processor']}@{r['rate']}")
def test_the_declared_cost_is_at_least_the_measured_one(row):
    declared = PROCESSORS[row["processor"]].cost(row["rate"])
    assert declared >= row["through_pool"]
    assert declared <= 1.5 * row["through_pool"]  # and not far above it
