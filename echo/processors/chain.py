"""A session's processors, in the order the client named them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .base import Processor
from .options import OptionError


def resolve_values(
    cls: type[Processor], given: Mapping[str, Any], rate: int, *, text: bool
) -> dict[str, Any]:
    """Every option's value at ``rate``: the given ones checked, the rest defaults."""
    values = cls.defaults(rate)
    for name, value in given.items():
        option = cls.option(name)
        try:
            values[name] = (
                option.from_text(value, rate) if text else option.from_json(value, rate)
            )
        except OptionError as error:  # as the query key writes it: gain.db
            raise OptionError(f"{cls.name}.{error}") from None
    cls.check_values(values, rate)
    return values


class StageFailed(Exception):
    """A processor of the chain raised; its exception is the cause."""

    def __init__(self, stage: str) -> None:
        super().__init__(stage)
        self.stage = stage


class Chain:
    """Runs a block through each processor in turn; configures one by name."""

    def __init__(self, stages: Iterable[Processor]) -> None:
        self.stages = list(stages)
        self.by_name = {stage.name: stage for stage in self.stages}
        self.identity = all(stage.identity for stage in self.stages)
        self.reporters = [stage for stage in self.stages if stage.reports_analysis()]
        self.heavy = any(stage.heavy for stage in self.stages)
        # What admission counts: CPU-seconds per second of audio, heavy stages only.
        self.cost = sum(type(stage).cost(stage.rate) for stage in self.stages)
        self.latency_samples = sum(stage.latency_samples for stage in self.stages)
        if len(self.stages) == 1:  # the usual case: no loop, no layer in between
            self.process = self.stages[0].process

    @classmethod
    def build(
        cls,
        registry: Mapping[str, type[Processor]],
        names: Iterable[str],
        option_texts: Mapping[str, Mapping[str, str]],
        rate: int,
    ) -> Chain:
        """The chain for a session's URL; raise OptionError naming what is allowed.

        ``option_texts`` holds the query's values by processor, then option.
        """
        stages = []
        for name in names:
            kind = registry[name]
            values = resolve_values(kind, option_texts.get(name, {}), rate, text=True)
            stages.append(kind(rate, **values))
        return cls(stages)

    def process(self, block: np.ndarray) -> np.ndarray:
        """``block`` through every stage; raise StageFailed naming the one that
        raised."""
        for stage in self.stages:
            try:
                block = stage.process(block)
            except Exception as exc:
                raise StageFailed(stage.name) from exc
        return block

    def configure(self, name: Any, options: Any) -> dict[str, Any]:
        """Apply new option values from a configure message; every current value."""
        stage = self.by_name.get(name) if isinstance(name, str) else None
        if stage is None:
            names = ", ".join(self.by_name)
            raise OptionError(
                f"processor {str(name)[:40]!r} is not in this session's chain: {names}"
            )
        if not isinstance(options, dict):
            raise OptionError("options must be an object of option names and values")
        given = {**stage.values, **options}
        values = resolve_values(type(stage), given, stage.rate, text=False)
        changes = {key: values[key] for key in options}
        stage.configure(changes)
        return dict(stage.values)

    def take_reports(self) -> list[tuple[str, dict[str, Any]]]:
        """Analysis values that fell due during the last block, by processor."""
        return [
            (stage.name, report)
            for stage in self.reporters
            for report in stage.take_reports()
        ]

    def describe(self) -> list[dict[str, Any]]:
        """The chain as ``ready`` announces it: each processor's current values."""
        return [
            {"name": stage.name, "options": dict(stage.values), **stage.announce()}
            for stage in self.stages
        ]
