"""The wire protocol module, byte for byte and rule by rule."""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from echo import protocol
from echo.protocol import F32, S16, CloseCode, ErrorCode, ProtocolError

ECHO_CHAIN = [{"name": "echo", "options": {}}]

PROCESSORS = ("echo",)


def parse(rate: str, query: bytes = b"") -> protocol.SessionParams:
    return protocol.parse_session_params(
        rate, query, min_rate=8000, max_rate=48000, processors=PROCESSORS
    )


def bad_request_detail(rate: str, query: bytes = b"") -> str:
    with pytest.raises(ProtocolError) as caught:
        parse(rate, query)
    assert caught.value.code == ErrorCode.BAD_REQUEST
    assert caught.value.close_code == CloseCode.BAD_REQUEST
    return caught.value.detail


# Session parameters


def test_rate_and_defaults_parse():
    params = parse("16384")
    assert (params.rate, params.format, params.processor) == (16384, F32, "echo")


def test_rate_range_is_inclusive():
    assert parse("8000").rate == 8000
    assert parse("48000").rate == 48000


def test_leading_zeros_are_still_ascii_digits():
    assert parse("016000").rate == 16000


@pytest.mark.parametrize(
    "segment",
    [
        "",
        "abc",
        "+16000",
        "-16000",
        " 16000",
        "16000 ",
        "16000\n",
        "16_000",
        "16000.0",
        "1e4",
        "١٦٠٠٠",  # Arabic-Indic digits: int() would accept them
        "１６０００",  # fullwidth digits
        "0x3e80",
    ],
)
def test_rate_that_is_not_ascii_digits_is_a_bad_request(segment):
    detail = bad_request_detail(segment)
    assert "not ASCII digits" in detail
    assert "8000 to 48000" in detail


@pytest.mark.parametrize("segment", ["7999", "48001", "0", "9" * 5000])
def test_rate_out_of_range_is_a_bad_request_naming_the_range(segment):
    detail = bad_request_detail(segment)
    assert "out of range" in detail
    assert "from 8000 to 48000" in detail


def test_formats_are_chosen_by_query():
    assert parse("16000", b"format=s16").format is S16
    assert parse("16000", b"format=f32&processor=echo").format is F32


@pytest.mark.parametrize("query", [b"format=f64", b"format=", b"format", b"format=S16"])
def test_unknown_format_is_a_bad_request_listing_formats(query):
    assert "f32, s16" in bad_request_detail("16000", query)


def test_unknown_processor_is_a_bad_request_listing_processors():
    assert "use one or more of echo," in bad_request_detail(
        "16000", b"processor=reverb"
    )


@pytest.mark.parametrize("query", [b"rate=16000", b"format=f32&x=1", b"Format=f32"])
def test_unknown_query_key_is_a_bad_request_naming_allowed_keys(query):
    detail = bad_request_detail("16000", query)
    assert "unknown" in detail
    assert "format and processor" in detail


def test_query_key_given_twice_is_a_bad_request():
    detail = bad_request_detail("16000", b"format=f32&format=f32")
    assert "given twice" in detail
    assert "format and processor" in detail


@pytest.mark.parametrize("query", [b"format=%ff", b"format=\xff"])
def test_query_that_does_not_decode_is_a_bad_request(query):
    assert "format and processor" in bad_request_detail("16000", query)


def test_max_frame_samples_is_rate_times_max_frame_seconds():
    config = protocol.ServerConfig(max_frame_seconds=0.5)
    assert config.max_frame_samples(16384) == 8192
    assert protocol.ServerConfig().max_frame_samples(44100) == 44100


def test_max_frame_samples_floors_the_product_as_written_in_decimal():
    assert protocol.ServerConfig(max_frame_seconds=0.29).max_frame_samples(100) == 29
    assert protocol.ServerConfig(max_frame_seconds=0.1).max_frame_samples(44105) == 4410


# Frames


def test_f32_decodes_to_a_zero_copy_view():
    data = np.array([0.0, 0.5, -1.0], dtype="<f4").tobytes()
    samples = protocol.decode_frame(data, F32)
    assert samples.dtype == np.float32
    assert samples.tolist() == [0.0, 0.5, -1.0]
    assert not samples.flags.writeable  # a view of the received bytes


def test_s16_golden_vector():
    data = bytes.fromhex("008000000040ff7f")  # -32768, 0, 16384, 32767
    samples = protocol.decode_frame(data, S16)
    assert samples.tolist() == [-1.0, 0.0, 0.5, 32767 / 32768]
    assert protocol.encode_frame(samples, S16) == data


def test_f32_golden_vector():
    samples = np.array([1.0, -0.5, 0.0], dtype=np.float32)
    assert protocol.encode_frame(samples, F32) == bytes.fromhex(
        "0000803f000000bf00000000"
    )


def test_s16_encode_rounds_and_clips():
    samples = np.array([1.5, -2.0, 0.25 / 32768, 0.75 / 32768], dtype=np.float32)
    decoded = np.frombuffer(protocol.encode_frame(samples, S16), dtype="<i2")
    assert decoded.tolist() == [32767, -32768, 0, 1]


@given(st.binary(min_size=1).filter(lambda b: len(b) % 2 == 0))
def test_any_s16_frame_round_trips_byte_for_byte(data):
    samples = protocol.decode_frame(data, S16)
    assert protocol.encode_frame(samples, S16) == data


@given(st.binary(min_size=1).filter(lambda b: len(b) % 4 == 0))
def test_any_finite_f32_frame_round_trips_byte_for_byte(data):
    samples = protocol.decode_frame(data, F32)
    clean, replaced = protocol.replace_nonfinite(samples)
    expected = np.frombuffer(data, "<f4")
    assert replaced == int((~np.isfinite(expected)).sum())
    if replaced == 0:
        assert protocol.encode_frame(clean, F32) == data


def test_nonfinite_samples_become_zero_and_are_counted():
    samples = np.array([0.25, np.nan, np.inf, -np.inf, -0.25], dtype=np.float32)
    clean, replaced = protocol.replace_nonfinite(samples)
    assert clean.tolist() == [0.25, 0.0, 0.0, 0.0, -0.25]
    assert replaced == 3


def test_huge_finite_samples_are_not_mistaken_for_nonfinite():
    samples = np.full(1024, np.finfo(np.float32).max, dtype=np.float32)
    clean, replaced = protocol.replace_nonfinite(samples)
    assert replaced == 0
    assert clean is samples


@pytest.mark.parametrize(
    ("data", "fmt", "words"),
    [
        (b"", F32, "empty"),
        (b"", S16, "empty"),
        (b"\x00", S16, "1 bytes"),
        (b"\x00" * 6, F32, "4-byte f32"),
        (b"\x00" * 4095, F32, "4095 bytes"),
    ],
)
def test_frame_that_is_empty_or_a_partial_sample_is_a_bad_frame(data, fmt, words):
    with pytest.raises(ProtocolError) as caught:
        protocol.frame_length(data, fmt, index=7, max_samples=4096)
    assert caught.value.code == ErrorCode.BAD_FRAME
    assert caught.value.frame == 7
    assert caught.value.close_code is None
    assert words in caught.value.detail


@pytest.mark.parametrize("fmt", [F32, S16])
def test_a_frame_of_exactly_max_samples_passes_and_one_more_is_too_large(fmt):
    limit = 100
    exact = b"\x00" * (limit * fmt.width)
    assert protocol.frame_length(exact, fmt, index=0, max_samples=limit) == limit
    with pytest.raises(ProtocolError) as caught:
        protocol.frame_length(
            exact + b"\x00" * fmt.width, fmt, index=3, max_samples=limit
        )
    error = caught.value
    assert (error.code, error.close_code) == (ErrorCode.FRAME_TOO_LARGE, 4413)
    assert protocol.error_message(error) == {
        "type": "error",
        "code": "frame_too_large",
        "detail": "the frame has 101 samples; max_frame_samples is 100",
        "frame": 3,
        "max_frame_samples": 100,
    }


def test_a_partial_sample_is_a_bad_frame_even_when_the_frame_is_too_large():
    with pytest.raises(ProtocolError) as caught:
        protocol.frame_length(b"\x00" * 1001, S16, index=0, max_samples=10)
    assert caught.value.code == ErrorCode.BAD_FRAME


def test_largest_frame_bytes_is_the_widest_format_at_the_highest_rate():
    config = protocol.ServerConfig(max_rate=48000, max_frame_seconds=0.5)
    assert config.largest_frame_bytes() == 4 * 24000
    assert protocol.ServerConfig().largest_frame_bytes() <= protocol.MAX_MESSAGE_BYTES


# Control messages


def test_ping_and_stats_parse():
    assert protocol.parse_control('{"type": "ping", "id": 3}') == {
        "type": "ping",
        "id": 3,
    }
    assert protocol.parse_control('{"type": "stats", "extra": true}')["type"] == "stats"


def client_stats(**members) -> dict:
    return protocol.client_stats_values({"type": "client_stats", **members})


def test_client_stats_keeps_known_members_and_ignores_others():
    assert client_stats(
        rtt_ms_p50=12,
        rtt_ms_p95=30.5,
        underruns=2,
        overruns=0,
        buffered_ms=125.0,
        device="phone",
    ) == {
        "rtt_ms_p50": 12.0,
        "rtt_ms_p95": 30.5,
        "underruns": 2,
        "overruns": 0,
        "buffered_ms": 125.0,
    }
    assert client_stats() == {}
    assert client_stats(underruns=2**53 - 1) == {"underruns": 2**53 - 1}


@pytest.mark.parametrize(
    ("members", "culprit"),
    [
        ({"rtt_ms_p50": "12"}, "rtt_ms_p50"),
        ({"rtt_ms_p50": None}, "rtt_ms_p50"),
        ({"rtt_ms_p50": -0.5}, "rtt_ms_p50"),
        ({"rtt_ms_p95": True}, "rtt_ms_p95"),  # JSON true is no number, bool or not
        ({"rtt_ms_p95": 10**400}, "rtt_ms_p95"),
        ({"underruns": 1.0}, "underruns"),
        ({"underruns": -1}, "underruns"),
        ({"underruns": 2**53}, "underruns"),
        ({"overruns": [1]}, "overruns"),
        ({"buffered_ms": {"ms": 3}}, "buffered_ms"),
        ({"rtt_ms_p50": 10, "underruns": "x" * 100_000}, "underruns"),
    ],
)
def test_client_stats_of_the_wrong_type_or_range_is_a_bad_message(members, culprit):
    with pytest.raises(ProtocolError) as raised:
        client_stats(**members)
    assert raised.value.code is ErrorCode.BAD_MESSAGE
    assert raised.value.detail.startswith(f"client_stats {culprit} must be")
    assert len(raised.value.detail) < 200  # a huge value is not echoed back


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ping",
        "{",
        "[]",
        '"ping"',
        "null",
        "{}",
        '{"type": null}',
        '{"type": 1}',
        '{"type": "PING"}',
        '{"type": "pong"}',
        '{"type": ["ping"]}',
        "[" * 100_000,  # nesting deep enough to exhaust the parser's recursion
        '{"type": "ping", "id": ' + "9" * 5000 + "}",  # past int()'s digit limit
        '{"type": "ping", "id": NaN}',  # Python reads these; JSON has no such thing
        '{"type": "ping", "id": -Infinity}',
    ],
)
def test_text_that_is_not_a_known_control_message_is_a_bad_message(text):
    with pytest.raises(ProtocolError) as caught:
        protocol.parse_control(text)
    assert caught.value.code == ErrorCode.BAD_MESSAGE
    assert caught.value.frame is None
    assert caught.value.close_code is None


def test_unknown_type_detail_lists_accepted_types():
    with pytest.raises(ProtocolError) as caught:
        protocol.parse_control('{"type": "reverb"}')
    assert "ping, stats" in caught.value.detail


def test_pong_echoes_the_id_whatever_it_is():
    ping = {"type": "ping", "id": {"seq": [1, 2]}}
    assert protocol.pong_message(ping, 12.5) == {
        "type": "pong",
        "id": {"seq": [1, 2]},
        "server_time": 12.5,
    }
    assert protocol.pong_message({"type": "ping"}, 1.0)["id"] is None


def test_error_message_carries_frame_only_for_binary_messages():
    frame_error = ProtocolError(ErrorCode.BAD_FRAME, "empty", frame=4)
    assert protocol.error_message(frame_error) == {
        "type": "error",
        "code": "bad_frame",
        "detail": "empty",
        "frame": 4,
    }
    assert "frame" not in protocol.error_message(
        ProtocolError(ErrorCode.BAD_MESSAGE, "x")
    )


def test_ready_message_announces_the_session_and_every_limit():
    params = parse("16384", b"format=s16")
    config = protocol.ServerConfig(
        max_frame_seconds=0.5,
        max_sessions=7,
        max_errors=3,
        max_messages_per_second=20,
        burst_seconds=1.5,
        max_realtime_factor=2.0,
        idle_timeout=9.5,
        max_pending_seconds=3.0,
        max_processing_backlog_seconds=1.5,
        processing_budget=0.5,
    )
    ready = protocol.ready_message(
        session="abc",
        params=params,
        config=config,
        chain=ECHO_CHAIN,
        latency_samples=480,
    )
    assert ready == {
        "type": "ready",
        "protocol": 1,
        "session": "abc",
        "rate": 16384,
        "format": "s16",
        "processor": "echo",
        "max_frame_samples": 8192,
        "accepts": ["ping", "stats", "client_stats", "configure"],
        "chain": [{"name": "echo", "options": {}}],
        "latency_samples": 480,
        "limits": {
            "max_frame_samples": 8192,
            "max_message_bytes": 1048576,
            "max_frame_seconds": 0.5,
            "max_sessions": 7,
            "max_errors": 3,
            "max_messages_per_second": 20,
            "burst_seconds": 1.5,
            "max_realtime_factor": 2.0,
            "idle_timeout": 9.5,
            "max_pending_seconds": 3.0,
            "max_processing_backlog_seconds": 1.5,
            "processing_budget": 0.5,
        },
    }
    assert json.loads(protocol.encode_message(ready)) == ready


def test_close_codes_are_1000_or_in_the_application_range():
    for code in CloseCode:
        assert code == 1000 or 4000 <= code <= 4999, code


# Arbitrary input: a clear protocol error, never anything else


@given(segment=st.text(), query=st.binary())
def test_any_url_parameters_give_a_session_or_bad_request(segment, query):
    try:
        params = parse(segment, query)
    except ProtocolError as error:
        assert error.code == ErrorCode.BAD_REQUEST
    else:
        assert 8000 <= params.rate <= 48000


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
)
control_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["ping", "stats", "pong", ""]) | json_values},
    optional={"id": json_values},
)


@given(st.text() | st.builds(json.dumps, json_values | control_like))
def test_any_text_is_a_control_message_or_bad_message(text):
    try:
        message = protocol.parse_control(text)
    except ProtocolError as error:
        assert error.code == ErrorCode.BAD_MESSAGE
    else:
        assert message["type"] in protocol.CONTROL_TYPES
        assert protocol.encode_message(protocol.pong_message(message, 0.0))
