"""Signal helpers shared by every test layer."""

import numpy as np


def sine(rate: int, seconds: float, hz: float, amplitude: float = 0.5) -> np.ndarray:
    """A float32 sine at ``hz``, ``seconds`` long at ``rate``."""
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def noise(n: int, seed: int = 0, amplitude: float = 0.5) -> np.ndarray:
    """``n`` float32 samples of reproducible uniform noise, at most ``amplitude``."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-amplitude, amplitude, n).astype(np.float32)


def frames(samples: np.ndarray, size: int) -> list[np.ndarray]:
    """``samples`` cut into consecutive frames of ``size`` (the last may be short)."""
    return [samples[i : i + size] for i in range(0, len(samples), size)]
