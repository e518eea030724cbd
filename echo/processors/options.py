"""The options a processor declares: one schema for validation, /api/info/, ready
and the docs.

Pure: no Django, no I/O. Values come either as query text (``gain.db=-6``) or as
JSON (a ``configure`` message); both are checked against the same declaration.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

# Decimal numbers as people write them: -6, 0.5, .5, 1e-3. No inf, nan, hex or _.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_MAX_VALUE_CHARS = 32  # far beyond any useful value; keeps int() and float() cheap
# JSON integers can be any length; beyond this no option means them, and a float
# could not even hold one (float(10**400) raises).
_LARGEST_JSON_INTEGER = 2**53
KINDS = ("float", "int", "bool", "choice")


class OptionError(ValueError):
    """An option value, or a set of them, that a processor does not accept."""


@dataclass(frozen=True, slots=True)
class Option:
    """One setting of a processor, declared once.

    A bound that depends on the session rate is given as a fraction of the rate
    (``max_fraction_of_rate=0.45``) and resolved per session; a default beyond a
    session's bound is that bound.
    """

    name: str
    kind: str  # one of KINDS
    default: Any
    description: str
    unit: str = ""
    min: float | None = None
    max: float | None = None
    max_fraction_of_rate: float | None = None
    choices: tuple[str, ...] = ()

    @classmethod
    def number(cls, name: str, default: float, *, description: str, **bounds) -> Option:
        return cls(name, "float", float(default), description, **bounds)

    @classmethod
    def integer(cls, name: str, default: int, *, description: str, **bounds) -> Option:
        return cls(name, "int", default, description, **bounds)

    @classmethod
    def switch(cls, name: str, default: bool, *, description: str) -> Option:
        return cls(name, "bool", default, description)

    @classmethod
    def choice(
        cls, name: str, default: str, choices: tuple[str, ...], *, description: str
    ) -> Option:
        return cls(name, "choice", default, description, choices=choices)

    def bounds(self, rate: int) -> tuple[float | None, float | None]:
        """The least and greatest value allowed in a session at ``rate``."""
        high = self.max
        if self.max_fraction_of_rate is not None:
            high = self.max_fraction_of_rate * rate
        return self.min, high

    def default_at(self, rate: int) -> Any:
        if self.kind not in ("float", "int"):
            return self.default
        low, high = self.bounds(rate)
        value = self.default
        if high is not None and value > high:
            value = high if self.kind == "float" else math.floor(high)
        if low is not None and value < low:
            value = low
        return value

    def allowed(self, rate: int) -> str:
        """What a value must be, in words, for error details."""
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        noun = self._noun()
        low, high = self.bounds(rate)
        unit = f" {self.unit}" if self.unit else ""
        if low is None and high is None:
            return noun
        if high is None:
            return f"{noun} of at least {low:g}{unit}"
        if low is None:
            return f"{noun} of at most {high:g}{unit}"
        return f"{noun} from {low:g} to {high:g}{unit}"

    def from_text(self, text: str, rate: int) -> Any:
        """A value from its query text; raise OptionError."""
        if not text:
            raise self._error("is empty", rate)
        if len(text) > _MAX_VALUE_CHARS:
            raise self._error("is too long", rate)
        if self.kind == "bool":
            if text not in ("true", "false"):
                raise self._error(f"is {text!r}", rate)
            return text == "true"
        if self.kind == "choice":
            return self._check_choice(text, rate)
        pattern = _DECIMAL if self.kind == "float" else _INTEGER
        if not pattern.fullmatch(text):
            raise self._error(f"is {text!r}, not {self._noun()}", rate)
        value = float(text) if self.kind == "float" else int(text)
        return self._check_range(value, rate)

    def from_json(self, value: Any, rate: int) -> Any:
        """A value from a JSON message; raise OptionError."""
        shown = repr(value)[:40]
        if self.kind == "bool":
            if type(value) is not bool:
                raise self._error(f"is {shown}", rate)
            return value
        if self.kind == "choice":
            if type(value) is not str:
                raise self._error(f"is {shown}", rate)
            return self._check_choice(value, rate)
        if type(value) not in (int, float):  # bool is not a number here
            raise self._error(f"is {shown}, not {self._noun()}", rate)
        if type(value) is int and abs(value) > _LARGEST_JSON_INTEGER:
            raise self._error(f"is {shown[:12]}..., out of range", rate)
        if self.kind == "int":
            if type(value) is float and not (
                math.isfinite(value) and value.is_integer()
            ):
                raise self._error(f"is {shown}, not an integer", rate)
            value = int(value)
        return self._check_range(float(value) if self.kind == "float" else value, rate)

    def schema(self) -> dict[str, Any]:
        """The declaration as JSON, for /api/info/ and the docs."""
        described: dict[str, Any] = {
            "name": self.name,
            "type": self.kind,
            "default": self.default,
            "description": self.description,
        }
        if self.unit:
            described["unit"] = self.unit
        if self.kind in ("float", "int"):
            described["min"] = self.min
            if self.max_fraction_of_rate is not None:
                described["max_fraction_of_rate"] = self.max_fraction_of_rate
            else:
                described["max"] = self.max
        if self.kind == "choice":
            described["choices"] = list(self.choices)
        return described

    def _noun(self) -> str:
        return "a number" if self.kind == "float" else "an integer"

    def _check_choice(self, value: str, rate: int) -> str:
        if value not in self.choices:
            raise self._error(f"is {value[:40]!r}", rate)
        return value

    def _check_range(self, value: float | int, rate: int) -> float | int:
        if not math.isfinite(value):
            raise self._error("is not finite", rate)
        low, high = self.bounds(rate)
        if (low is not None and value < low) or (high is not None and value > high):
            raise self._error(f"is {value:g}, out of range", rate)
        return value

    def _error(self, problem: str, rate: int) -> OptionError:
        return OptionError(f"{self.name} {problem}; use {self.allowed(rate)}")
