"""Load-test frames carry their stream and sequence number, and any change to a
reply makes it a mismatch."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsaudio_client.tagging import MAX_SEQUENCE, FrameTagger
from wsaudio_client.wire import decode_frame

FRAME = 1024


@pytest.mark.parametrize("format", ["f32", "s16"])
@given(stream=st.integers(0, 65535), sequence=st.integers(0, MAX_SEQUENCE))
def test_a_frame_reads_back_as_its_own_sequence_number(format, stream, sequence):
    tagger = FrameTagger(stream, FRAME, format)
    frame = tagger.frame(sequence)
    assert len(frame) == FRAME * (4 if format == "f32" else 2)
    assert tagger.sequence_of(frame) == sequence


@pytest.mark.parametrize("format", ["f32", "s16"])
@given(data=st.data())
def test_any_flipped_bit_makes_a_frame_unrecognised(format, data):
    tagger = FrameTagger(3, FRAME, format)
    frame = bytearray(tagger.frame(data.draw(st.integers(0, MAX_SEQUENCE))))
    byte = data.draw(st.integers(0, len(frame) - 1))
    frame[byte] ^= 1 << data.draw(st.integers(0, 7))
    assert tagger.sequence_of(bytes(frame)) is None


def test_another_streams_frame_or_a_short_one_is_not_recognised():
    frame = FrameTagger(1, FRAME, "f32").frame(10)
    assert FrameTagger(2, FRAME, "f32").sequence_of(frame) is None
    assert FrameTagger(1, FRAME, "f32").sequence_of(frame[:-4]) is None
    assert FrameTagger(1, FRAME, "f32").sequence_of(bytes(len(frame))) is None


@pytest.mark.parametrize("format", ["f32", "s16"])
def test_frames_are_finite_audio_in_range(format):
    samples = decode_frame(
        FrameTagger(65535, FRAME, format).frame(MAX_SEQUENCE), format
    )
    assert abs(samples).max() <= 1.0


def test_out_of_range_ids_are_refused():
    with pytest.raises(ValueError):
        FrameTagger(65536, FRAME, "f32")
    with pytest.raises(ValueError):
        FrameTagger(0, FRAME, "f32").frame(MAX_SEQUENCE + 1)
    with pytest.raises(ValueError):
        FrameTagger(0, 4, "f32")
