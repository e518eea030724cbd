"""Audio files in and out: any rate and channel count in, mono at the session
rate out, with a proper resampler (soxr) in between."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import soxr

from .wire import FORMATS

# The WAV subtype that holds each wire format's samples exactly.
SUBTYPES = {"f32": "FLOAT", "s16": "PCM_16"}


@dataclass(frozen=True)
class SourceAudio:
    """A file read for streaming: mono float32 samples at ``rate``."""

    samples: np.ndarray
    rate: int
    file_rate: int
    file_channels: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate


def read_mono(path: str | Path, rate: int) -> SourceAudio:
    """Read a WAV, FLAC or other libsndfile format; mix to mono, resample to
    ``rate``. A file already mono at ``rate`` comes back sample for sample.
    Raises ValueError, saying why, for a file that cannot be read."""
    try:
        data, file_rate = soundfile.read(path, dtype="float32", always_2d=True)
    except soundfile.SoundFileError as unreadable:
        raise ValueError(str(unreadable)) from None
    channels = data.shape[1]
    mono = data[:, 0] if channels == 1 else data.mean(axis=1, dtype=np.float32)
    if file_rate != rate:
        mono = soxr.resample(mono, file_rate, rate, quality="VHQ")
    return SourceAudio(
        samples=np.ascontiguousarray(mono, dtype=np.float32),
        rate=rate,
        file_rate=file_rate,
        file_channels=channels,
    )


def check_writable(path: str | Path) -> None:
    """Raise ValueError now, before any audio is streamed, for an output file
    that could not be written afterwards."""
    path = Path(path)
    if path.suffix[1:].upper() not in soundfile.available_formats():
        raise ValueError(f"cannot write {path}: use a suffix such as .wav or .flac")
    if not path.parent.is_dir():
        raise ValueError(f"cannot write {path}: {path.parent} is not a directory")


def write_wire_samples(path: str | Path, pcm: bytes, rate: int, format: str) -> None:
    """Write wire-format PCM as a mono WAV (or FLAC, by suffix) whose samples are
    exactly the ones on the wire: float32 for f32, 16-bit integers for s16."""
    samples = np.frombuffer(pcm, dtype=FORMATS[format])
    subtype = SUBTYPES[format] if Path(path).suffix.lower() == ".wav" else None
    try:
        soundfile.write(path, samples, rate, subtype=subtype)
    except (soundfile.SoundFileError, TypeError) as unwritable:
        # TypeError: libsndfile knows no format for the file's suffix
        raise ValueError(f"cannot write {path}: {unwritable}") from None
