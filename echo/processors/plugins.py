"""pedalboard plugins as streaming kernels.

pedalboard re-prepares a plugin, resetting its state, whenever
``min(buffer_size, len(block))`` is larger than on any call before. With
``buffer_size`` fixed at BUFFER_SAMPLES and one block of that many zeros at the
start, no later block can be larger, so state carries across every framing,
1-sample frames included (docs/processors.md has what the priming costs).
"""

from __future__ import annotations

import numpy as np
import pedalboard

BUFFER_SAMPLES = 32
_PRIMER = np.zeros(BUFFER_SAMPLES, dtype=np.float32)


class PluginKernel:
    """One pedalboard plugin, primed, processing a mono stream block by block."""

    def __init__(self, plugin: pedalboard.Plugin, rate: int) -> None:
        self.plugin = plugin
        self.rate = rate
        self(_PRIMER)

    def __call__(self, block: np.ndarray) -> np.ndarray:
        return self.plugin.process(
            block, self.rate, buffer_size=BUFFER_SAMPLES, reset=False
        )
