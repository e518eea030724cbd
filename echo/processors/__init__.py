"""What the server does to each block of samples. Pure: no Django, no I/O.

The built-ins, one module per family; a deployment adds its own classes through
WSAUDIO_PROCESSORS (docs/processors.md).
"""

from .analysis import Analysis
from .base import CATEGORIES, Processor, build_registry, load_processor
from .basic import Echo, Gain
from .chain import Chain
from .denoise import Denoise
from .dynamics import Compressor, Limiter
from .effects import Delay, Reverb, Robot
from .filters import Highpass, Lowpass
from .options import Option, OptionError
from .vad import Vad

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
    Denoise,
    Vad,
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
    "Denoise",
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
    "Vad",
    "build_registry",
    "load_processor",
]
