"""Filters: Butterworth high-pass and low-pass from scipy.signal.

Second-order sections with their state carried from block to block in float64, so
a stream gives the same samples however it is framed; a new cutoff or order
crossfades from the old filter to a new one warmed on the latest input.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from .base import Processor
from .options import Option
from .smoothing import CrossfadedKernel


def butterworth(btype: str, order: int, cutoff_hz: float, rate: int) -> np.ndarray:
    """The design the filters run, as second-order sections (scipy's layout)."""
    return signal.butter(order, cutoff_hz, btype=btype, fs=rate, output="sos")


class SosKernel:
    """One filter design and its state."""

    def __init__(self, sos: np.ndarray) -> None:
        self.sos = sos
        self.state = np.zeros((len(sos), 2))

    def __call__(self, block: np.ndarray) -> np.ndarray:
        filtered, self.state = signal.sosfilt(
            self.sos, block.astype(np.float64), zi=self.state
        )
        return filtered


def _cutoff(default: float) -> Option:
    return Option.number(
        "cutoff_hz",
        default,
        min=10,
        max_fraction_of_rate=0.45,
        unit="Hz",
        description="the -3 dB frequency",
    )


_ORDER = Option.integer(
    "order", 4, min=1, max=8, description="steepness: 6 dB per octave per order"
)


class _Butterworth(Processor):
    btype: str
    category = "filters"

    def __init__(self, rate: int, *, cutoff_hz: float, order: int) -> None:
        super().__init__(rate, cutoff_hz=cutoff_hz, order=order)
        self.filter = CrossfadedKernel(self._kernel(), rate)

    def _kernel(self) -> SosKernel:
        values = self.values
        return SosKernel(
            butterworth(self.btype, values["order"], values["cutoff_hz"], self.rate)
        )

    def process(self, block: np.ndarray) -> np.ndarray:
        return self.filter(block).astype(np.float32)

    def configure(self, changes) -> None:
        self.values.update(changes)
        self.filter.replace(self._kernel())


class Highpass(_Butterworth):
    name = "highpass"
    description = "removes what lies below the cutoff (rumble, hum, wind)"
    btype = "highpass"
    options = (_cutoff(100), _ORDER)


class Lowpass(_Butterworth):
    name = "lowpass"
    description = "removes what lies above the cutoff (hiss, harshness)"
    btype = "lowpass"
    options = (_cutoff(4000), _ORDER)
