"""What the server does to each block of samples. Pure: no Django, no I/O."""

from .base import PROCESSORS, Echo, Processor, describe_processors, make_processor

__all__ = ["PROCESSORS", "Echo", "Processor", "describe_processors", "make_processor"]
