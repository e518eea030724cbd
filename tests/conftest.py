"""Signal helpers shared by every test layer."""

import numpy as np


def sine(rate: int, seconds: float, hz: float, amplitude: float = 0.5) -> np.ndarray:
    """A float32 sine at ``hz``, ``seconds`` long at ``rate``."""
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def frames(samples: np.ndarray, size: int) -> list[np.ndarray]:
    """``samples`` cut into consecutive frames of ``size`` (the last may be short)."""
    return [samples[i : i + size] for i in range(0, len(samples), size)]
