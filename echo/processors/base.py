"""Processors: what the server does to each block of samples, and their registry.

Pure: no Django, no I/O. A processor is made per session with its sample rate and
keeps whatever state it needs between blocks.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

import numpy as np


class Processor(Protocol):
    """Turns one block of float32 samples at the session rate into another.

    The input may be a read-only view of the received bytes: return a new array
    (or the input itself) instead of writing to it. The output must have as many
    samples as the input.
    """

    name: ClassVar[str]
    description: ClassVar[str]

    def process(self, block: np.ndarray) -> np.ndarray: ...


class Echo:
    """The identity: every block comes back as it was sent."""

    name: ClassVar[str] = "echo"
    description: ClassVar[str] = "sends every frame back unchanged"

    def __init__(self, rate: int) -> None:
        self.rate = rate

    def process(self, block: np.ndarray) -> np.ndarray:
        return block


PROCESSORS: dict[str, type[Processor]] = {Echo.name: Echo}


def make_processor(name: str, rate: int) -> Processor:
    """A fresh processor for one session; ``name`` must be in ``PROCESSORS``."""
    return PROCESSORS[name](rate)


def describe_processors() -> list[dict[str, str]]:
    return [
        {"name": cls.name, "description": cls.description}
        for cls in PROCESSORS.values()
    ]
