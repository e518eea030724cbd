"""Analysis: levels, the dominant frequency and band levels of the stream, reported
as it goes; the audio comes back unchanged."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Processor
from .decibels import dbfs, rms_dbfs
from .options import Option
from .smoothing import History

BAND_LOW_HZ = 20.0  # bands are log-spaced from here to half the rate


def band_edges(bands: int, rate: int) -> np.ndarray:
    """The ``bands + 1`` edges in Hz, log-spaced from BAND_LOW_HZ to rate / 2."""
    return np.geomspace(BAND_LOW_HZ, rate / 2, bands + 1)


class Analysis(Processor):
    """One report per ``hop`` input samples, over the latest ``window`` samples.

    Reports fall due at fixed sample positions (every ``hop`` samples from the
    session's start), so they do not depend on the framing; before ``window``
    samples have come, the window holds silence before the first sample.
    """

    name = "analysis"
    description = "reports levels, the dominant frequency and band levels"
    category = "analysis"
    identity = True
    options = (
        Option.integer(
            "window",
            2048,
            min=256,
            max=16384,
            unit="samples",
            description="how many of the latest samples each report looks at",
        ),
        Option.integer(
            "hop",
            1024,
            min=256,
            max=16384,
            unit="samples",
            description="input samples from one report to the next",
        ),
        Option.integer(
            "bands",
            0,
            min=0,
            max=64,
            description="band levels per report, log-spaced from 20 Hz to rate / 2",
        ),
    )

    def __init__(self, rate: int, *, window: int, hop: int, bands: int) -> None:
        super().__init__(rate, window=window, hop=hop, bands=bands)
        self.recent = History(window)
        self.until_due = hop  # input samples until the next report
        self.reports: list[dict[str, Any]] = []
        self._prepare()

    def _prepare(self) -> None:
        window, bands = self.values["window"], self.values["bands"]
        if len(self.recent.samples) != window:
            kept, self.recent = self.recent.latest(), History(window)
            self.recent.push(kept[-window:])
        self.taper = np.hanning(window + 2)[1:-1]  # no zero ends: every sample counts
        self.power_scale = 1.0 / (window * float(np.dot(self.taper, self.taper)))
        self.bin_hz = self.rate / window
        frequencies = np.arange(window // 2 + 1) * self.bin_hz
        edges = band_edges(bands, self.rate)
        self.band_of_bin = np.searchsorted(edges, frequencies, side="right") - 1
        self.band_of_bin[-1] = min(self.band_of_bin[-1], bands - 1)  # rate / 2

    def process(self, block: np.ndarray) -> np.ndarray:
        count = len(block)
        if count < self.until_due:
            self.until_due -= count
            self.recent.push(block)
            return block
        window, hop = self.values["window"], self.values["hop"]
        joined = np.concatenate([self.recent.latest(), block])
        last = count  # index in ``block`` of the last report's sample
        for last in range(self.until_due - 1, count, hop):
            self.reports.append(self._report(joined[last + 1 : last + 1 + window]))
        self.until_due = hop - (count - 1 - last)
        self.recent.push(block)
        return block

    def _report(self, samples: np.ndarray) -> dict[str, Any]:
        samples = samples.astype(np.float64)
        spectrum = np.fft.rfft(samples * self.taper)
        power = (spectrum.real**2 + spectrum.imag**2) * self.power_scale
        power[1:-1] *= 2.0  # one side of the spectrum holds half of each bin's power
        report: dict[str, Any] = {
            "peak_dbfs": dbfs(float(np.abs(samples).max())),
            "rms_dbfs": rms_dbfs(float(np.dot(samples, samples)) / len(samples)),
            "dominant_hz": self._dominant_hz(power),
        }
        if self.values["bands"]:
            in_bands = self.band_of_bin >= 0
            levels = np.bincount(
                self.band_of_bin[in_bands],
                weights=power[in_bands],
                minlength=self.values["bands"],
            )
            report["bands"] = [rms_dbfs(float(level)) for level in levels]
        return report

    def _dominant_hz(self, power: np.ndarray) -> float:
        """The strongest frequency above DC, between bins by a parabola through
        the log power of the peak bin and its neighbours; 0 for silence."""
        peak = int(np.argmax(power[1:])) + 1
        if power[peak] <= 0.0:
            return 0.0
        offset = 0.0
        if peak < len(power) - 1:
            left, centre, right = np.log(power[peak - 1 : peak + 2] + 1e-300)
            curvature = left - 2.0 * centre + right
            if curvature < 0.0:
                offset = 0.5 * (left - right) / curvature
        return float((peak + offset) * self.bin_hz)

    def take_reports(self) -> list[dict[str, Any]]:
        reports, self.reports = self.reports, []
        return reports

    def configure(self, changes) -> None:
        self.values.update(changes)
        self.until_due = min(self.until_due, self.values["hop"])
        self._prepare()

    def announce(self) -> dict[str, Any]:
        if not self.values["bands"]:
            return {}
        edges = band_edges(self.values["bands"], self.rate)
        return {"band_edges_hz": [round(float(edge), 3) for edge in edges]}

    @classmethod
    def schema(cls) -> dict[str, Any]:
        return {
            **super().schema(),
            "reports": ["peak_dbfs", "rms_dbfs", "dominant_hz", "bands"],
            "band_edges": {"low_hz": BAND_LOW_HZ, "high": "rate / 2", "spacing": "log"},
        }
