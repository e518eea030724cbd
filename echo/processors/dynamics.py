"""Dynamics: pedalboard's compressor and limiter (JUCE's).

A change of setting crossfades from the running plugin to a new one warmed on the
latest input: JUCE applies a new threshold at once, which would click.
"""

from __future__ import annotations

import numpy as np
import pedalboard

from .base import Processor
from .options import Option
from .plugins import PluginKernel
from .smoothing import CrossfadedKernel


def _threshold(default: float, description: str) -> Option:
    return Option.number(
        "threshold_db", default, min=-60, max=0, unit="dB", description=description
    )


_RELEASE = Option.number(
    "release_ms",
    100,
    min=1,
    max=5000,
    unit="ms",
    description="how fast the gain recovers once the level falls",
)


class _PluginProcessor(Processor):
    """A processor that runs one pedalboard plugin made from its values."""

    category = "dynamics"

    def __init__(self, rate: int, **values) -> None:
        super().__init__(rate, **values)
        self.plugin = CrossfadedKernel(self._kernel(), rate)

    def _plugin(self) -> pedalboard.Plugin:
        raise NotImplementedError

    def _kernel(self) -> PluginKernel:
        return PluginKernel(self._plugin(), self.rate)

    def process(self, block: np.ndarray) -> np.ndarray:
        return self.plugin(block)

    def configure(self, changes) -> None:
        self.values.update(changes)
        self.plugin.replace(self._kernel())


class Compressor(_PluginProcessor):
    name = "compressor"
    description = "evens out the level: turns down what rises above the threshold"
    options = (
        _threshold(-20, "level above which the gain is reduced"),
        Option.number(
            "ratio",
            4,
            min=1,
            max=20,
            description="input dB above threshold per output dB",
        ),
        Option.number(
            "attack_ms",
            5,
            min=0.1,
            max=500,
            unit="ms",
            description="how fast the gain falls once the level rises",
        ),
        _RELEASE,
    )

    def _plugin(self) -> pedalboard.Plugin:
        return pedalboard.Compressor(**self.values)


class Limiter(_PluginProcessor):
    name = "limiter"
    description = "loud, and no peak above 0 dBFS; a low threshold clips"
    options = (
        _threshold(
            -1, "where limiting starts; the output is lifted by 3.75 dB minus this"
        ),
        _RELEASE,
    )

    def _plugin(self) -> pedalboard.Plugin:
        return pedalboard.Limiter(**self.values)
