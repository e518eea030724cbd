"""The processor interface, and the registry of the processors a server offers.

Pure: no Django, no I/O. A processor is made per session with the session's rate
and validated option values, and keeps whatever state it needs between blocks.
"""

from __future__ import annotations

import bisect
import importlib
import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import numpy as np

from .options import KINDS, Option, OptionError

CATEGORIES = ("basic", "filters", "dynamics", "effects", "voice", "analysis")
# A name fits a query key (``<name>.<option>``) and a record's chain column.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")


class Processor:
    """Turns blocks of float32 samples at the session rate into as many samples.

    Subclasses declare ``name``, ``description``, ``category``, ``identity`` (the
    audio comes back unchanged) and ``options``, and take their option values as
    keyword arguments: ``__init__(self, rate, **values)``. The block given to
    ``process`` may be a read-only view of the received bytes: return a new array
    (or, for an identity, the block itself) instead of writing to it.

    A processor that needs lookahead sets ``latency_samples``: its output is its
    input that many samples late, with silence (or what its library makes of
    none) before the first sample, so every block still comes back the size it
    went in.

    A ``heavy`` processor (milliseconds per block rather than microseconds) runs
    on the process's pool of processing threads, so its work must release the GIL,
    and declares ``cost_per_second``: CPU-seconds per second of audio at the rates
    the benchmark measured (bench/processor_cost.py), which admission adds up.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    category: ClassVar[str] = "basic"
    identity: ClassVar[bool] = False
    options: ClassVar[tuple[Option, ...]] = ()
    heavy: ClassVar[bool] = False
    cost_per_second: ClassVar[Mapping[int, float]] = {}  # rate -> CPU-s per s
    latency_samples = 0  # set per instance by processors with lookahead

    def __init__(self, rate: int, **values: Any) -> None:
        self.rate = rate
        self.values = dict(values)  # every option's current value

    def process(self, block: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def configure(self, changes: Mapping[str, Any]) -> None:
        """Take new values (already validated) from the next block on.

        The built-ins move without clicks: levels and mixes ramp over 20 ms of
        audio, other changes crossfade over the same span (echo.processors.smoothing).
        """
        if changes:
            raise OptionError(f"{self.name} takes no changes during a session")

    def take_reports(self) -> list[dict[str, Any]]:
        """Analysis values that fell due since the last call; each becomes one
        ``analysis`` message. Only processors that override this are asked."""
        return []

    def announce(self) -> dict[str, Any]:
        """What ``ready`` says of this processor beyond its option values."""
        return {}

    @classmethod
    def check_values(cls, values: Mapping[str, Any], rate: int) -> None:
        """Rules between options (one above another, say); raise OptionError."""

    @classmethod
    def cost(cls, rate: int) -> float:
        """CPU-seconds per second of audio at ``rate``: 0 for a light processor;
        for a heavy one, linear between the measured rates, flat beyond them."""
        if not cls.heavy:
            return 0.0
        rates = sorted(cls.cost_per_second)
        costs = [cls.cost_per_second[each] for each in rates]
        if rate <= rates[0]:
            return costs[0]
        if rate >= rates[-1]:
            return costs[-1]
        right = bisect.bisect_right(rates, rate)
        low, high = rates[right - 1], rates[right]
        share = (rate - low) / (high - low)
        return costs[right - 1] + share * (costs[right] - costs[right - 1])

    @classmethod
    def reports_analysis(cls) -> bool:
        return cls.take_reports is not Processor.take_reports

    @classmethod
    def option(cls, name: str) -> Option:
        for option in cls.options:
            if option.name == name:
                return option
        allowed = ", ".join(option.name for option in cls.options) or "none"
        raise OptionError(
            f"{cls.name} has no option {name[:40]!r}; its options: {allowed}"
        )

    @classmethod
    def defaults(cls, rate: int) -> dict[str, Any]:
        return {option.name: option.default_at(rate) for option in cls.options}

    @classmethod
    def schema(cls) -> dict[str, Any]:
        return {
            "name": cls.name,
            "description": cls.description,
            "category": cls.category,
            "identity": cls.identity,
            "heavy": cls.heavy,
            "cost_per_second": {
                str(rate): cost for rate, cost in sorted(cls.cost_per_second.items())
            },
            "options": [option.schema() for option in cls.options],
        }


def load_processor(path: str) -> type[Processor]:
    """The class named by a dotted path such as ``myapp.sound.Tremolo``."""
    module_name, _, class_name = path.rpartition(".")
    if not module_name:
        raise ImportError(f"{path!r} is not a dotted path to a class")
    cls = getattr(importlib.import_module(module_name), class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Processor)):
        raise ImportError(f"{path!r} is not a subclass of echo.processors.Processor")
    return cls


def build_registry(classes: Iterable[type[Processor]]) -> dict[str, type[Processor]]:
    """Processors by name; raise ValueError for a bad or twice-used name."""
    registry: dict[str, type[Processor]] = {}
    for cls in classes:
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            raise ValueError(
                f"{cls.__qualname__}.name must match {NAME_PATTERN.pattern}: {name!r}"
            )
        if name in registry:
            raise ValueError(f"two processors are called {name!r}")
        if cls.category not in CATEGORIES:
            raise ValueError(f"{name}: category must be one of {', '.join(CATEGORIES)}")
        for option in cls.options:
            if not NAME_PATTERN.fullmatch(option.name) or option.kind not in KINDS:
                raise ValueError(
                    f"{name}: option {option.name!r} needs a name matching "
                    f"{NAME_PATTERN.pattern} and a type among {', '.join(KINDS)}"
                )
        costs = cls.cost_per_second
        if cls.heavy and not (
            costs
            and all(
                isinstance(rate, int) and rate > 0 and cost >= 0
                for rate, cost in costs.items()
            )
        ):
            raise ValueError(
                f"{name}: a heavy processor declares cost_per_second, CPU-seconds "
                "per second of audio by rate"
            )
        registry[name] = cls
    return registry
