"""The basics: the identity, and a gain."""

from __future__ import annotations

import numpy as np

from .base import Processor
from .decibels import db_to_gain
from .options import Option
from .smoothing import Ramp


class Echo(Processor):
    """The identity: every block comes back as it was sent."""

    name = "echo"
    description = "sends every frame back unchanged"
    identity = True

    def process(self, block: np.ndarray) -> np.ndarray:
        return block


class Gain(Processor):
    """A level change in decibels; a new level ramps in over 20 ms."""

    name = "gain"
    description = "raises or lowers the level"
    options = (
        Option.number("db", 0, min=-60, max=24, unit="dB", description="level change"),
    )

    def __init__(self, rate: int, *, db: float) -> None:
        super().__init__(rate, db=db)
        self.gain = Ramp(db_to_gain(db), rate)

    def process(self, block: np.ndarray) -> np.ndarray:
        return np.multiply(block, self.gain.next(len(block)), dtype=np.float32)

    def configure(self, changes) -> None:
        self.values.update(changes)
        self.gain.set(db_to_gain(self.values["db"]))
