"""What the server does to each block of samples. Pure: no Django, no I/O.

The built-ins, one module per family; a deployment adds its own classes through
WSAUDIO_PROCESSORS (docs/processors.md).
"""

from .analysis import Analysis
from .base import CATEGORIES, Processor, build_registry, load_processor
from .basic import Echo, Gain
from .chain import Chain
from .dynamics import Compressor, Limiter
from .effects import Delay, Reverb, Robot
from .filters import Highpass, Lowpass
from .options import Option, OptionError

BUILTINS = (
    Echo,
    Gain,
    Highpass,
    Lowpass,
    Compressor,
    Limiter,
    Delay,
    Reverb,
    Robot,
    Analysis,
)
PROCESSORS = build_registry(BUILTINS)

__all__ = [
    "BUILTINS",
    "CATEGORIES",
    "PROCESSORS",
    "Analysis",
    "Chain",
    "Compressor",
    "Delay",
    "Echo",
    "Gain",
    "Highpass",
    "Limiter",
    "Lowpass",
    "Option",
    "OptionError",
    "Processor",
    "Reverb",
    "Robot",
    "build_registry",
    "load_processor",
]
