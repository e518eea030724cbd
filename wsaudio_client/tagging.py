"""Load-test frames that say which stream and sequence number they are.

The first four samples of a frame carry four 16-bit words: the stream id, the
sequence number's high and low halves, and a check word. The rest is the stream's
own sine. Any reply can then be checked byte for byte against the frame it claims
to be, and a missing reply shows up as a gap in sequence numbers, not as a
cascade of mismatches.
"""

from __future__ import annotations

import struct

import numpy as np

from .wire import encode_frame

TAG_SAMPLES = 4
MAX_STREAMS = 1 << 16
MAX_SEQUENCE = (1 << 32) - 1  # 8.5 years of 62.5 ms frames
_CHECK = 0xA5A5  # mixed into the check word, so silence is not a valid tag
_WORD_OFFSET = 32768  # words 0..65535 sit at -32768..32767: exact in f32 and s16


class FrameTagger:
    """Makes and checks one stream's frames: ``frame_samples`` samples in
    ``format``, the tag first, then a sine at a frequency of the stream's own."""

    def __init__(self, stream: int, frame_samples: int, format: str) -> None:
        if not 0 <= stream < MAX_STREAMS:
            raise ValueError(f"stream ids run from 0 to {MAX_STREAMS - 1}")
        if frame_samples <= TAG_SAMPLES:
            raise ValueError(f"frames need more than {TAG_SAMPLES} samples")
        self.stream = stream
        self.tag = _TAG_LAYOUTS[format]
        self.scale = 1 / _WORD_OFFSET if format == "f32" else 1
        cycles = 1 + stream % 97  # a whole number of cycles per frame
        t = np.arange(TAG_SAMPLES, frame_samples) / frame_samples
        body = 0.25 * np.sin(2 * np.pi * cycles * t)
        self.body = encode_frame(body.astype(np.float32), format)
        self.size = self.tag.size + len(self.body)

    def frame(self, sequence: int) -> bytes:
        return self._tag(sequence) + self.body

    def resume(self, sequence: int) -> None:
        """The frames before ``sequence`` will get no more replies (a reconnect
        lost them); a tag names its frame, so nothing changes here."""

    def sequence_of(self, reply: bytes) -> int | None:
        """The sequence number of one of this stream's frames, byte for byte;
        None for anything else (another stream's frame, or a changed byte)."""
        if len(reply) != self.size or not reply.endswith(self.body):
            return None
        values = self.tag.unpack_from(reply)
        words = [round(value / self.scale) + _WORD_OFFSET for value in values]
        stream, high, low, check = words
        if stream != self.stream or check != stream ^ high ^ low ^ _CHECK:
            return None
        sequence = high << 16 | low
        # Packing again catches a changed bit that the rounding above would hide.
        return sequence if reply.startswith(self._tag(sequence)) else None

    def _tag(self, sequence: int) -> bytes:
        if not 0 <= sequence <= MAX_SEQUENCE:
            raise ValueError(f"sequence numbers run from 0 to {MAX_SEQUENCE}")
        high, low = sequence >> 16, sequence & 0xFFFF
        words = (self.stream, high, low, self.stream ^ high ^ low ^ _CHECK)
        return self.tag.pack(*((word - _WORD_OFFSET) * self.scale for word in words))


# Four tag words as samples of each format.
_TAG_LAYOUTS = {"f32": struct.Struct("<4f"), "s16": struct.Struct("<4h")}


class InOrderTagger(FrameTagger):
    """For a chain that changes the audio, and so the tag: frames tagged as ever,
    replies taken in the order they come. The server answers a session's frames
    in order, one reply each (docs/protocol.md), so the n-th reply answers frame
    n; it is checked for its size only."""

    def __init__(self, stream: int, frame_samples: int, format: str) -> None:
        super().__init__(stream, frame_samples, format)
        self.replies = 0

    def sequence_of(self, reply: bytes) -> int | None:
        sequence, self.replies = self.replies, self.replies + 1
        return sequence if len(reply) == self.size else None

    def resume(self, sequence: int) -> None:
        """The next reply answers frame ``sequence``: the first of a new session."""
        self.replies = sequence
