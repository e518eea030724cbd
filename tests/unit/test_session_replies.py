"""What AudioSession.process_frame hands back: the echo's reply to a finite f32
frame is the received bytes themselves, with no copy; anything else is encoded."""

import numpy as np

from echo.protocol import ServerConfig
from echo.sessions.session import AudioSession


def open_session(query: bytes = b"") -> AudioSession:
    return AudioSession.open(ServerConfig(), "16384", query, 0.0)


def test_a_finite_f32_frame_is_its_own_reply():
    data = np.linspace(-1, 1, 1024, dtype="<f4").tobytes()
    assert open_session().process_frame(data, 0.0) is data


def test_a_frame_with_nonfinite_samples_gets_a_new_reply_with_zeros():
    data = np.array([0.5, np.nan, np.inf, -0.5], dtype="<f4").tobytes()
    reply = open_session().process_frame(data, 0.0)
    assert np.frombuffer(reply, "<f4").tolist() == [0.5, 0.0, 0.0, -0.5]


def test_an_s16_frame_comes_back_equal_through_its_round_trip():
    data = np.array([-32768, -1, 0, 1, 32767], dtype="<i2").tobytes()
    assert open_session(b"format=s16").process_frame(data, 0.0) == data
