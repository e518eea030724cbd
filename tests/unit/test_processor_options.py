"""Option values are checked against one declaration, from a URL or from JSON."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from echo.processors import PROCESSORS, Chain, Echo, Option, OptionError, Processor
from echo.processors.base import build_registry, load_processor

DB = Option.number("db", 0, min=-60, max=24, unit="dB", description="level")
CUTOFF = Option.number(
    "cutoff_hz", 100, min=10, max_fraction_of_rate=0.45, description="cutoff"
)
ORDER = Option.integer("order", 4, min=1, max=8, description="order")
ON = Option.switch("on", False, description="a switch")
SHAPE = Option.choice("shape", "sine", ("sine", "square"), description="a choice")


@pytest.mark.parametrize(
    ("option", "text", "value"),
    [
        (DB, "-6", -6.0),
        (DB, "0.5", 0.5),
        (DB, ".5", 0.5),
        (DB, "1e-3", 0.001),
        (DB, "+24", 24.0),
        (DB, "-60", -60.0),  # bounds are inclusive
        (ORDER, "8", 8),
        (ON, "true", True),
        (ON, "false", False),
        (SHAPE, "square", "square"),
        (CUTOFF, "7372.8", 7372.8),  # 0.45 x 16384, exactly
    ],
)
def test_query_text_that_is_valid_becomes_its_value(option, text, value):
    assert option.from_text(text, 16384) == value


@pytest.mark.parametrize(
    ("option", "text", "says"),
    [
        (DB, "", "is empty; use a number from -60 to 24 dB"),
        (DB, "inf", "not a number"),
        (DB, "nan", "not a number"),
        (DB, "0x10", "not a number"),
        (DB, "1_0", "not a number"),
        (DB, "1e999", "not finite"),
        (DB, "24.001", "out of range; use a number from -60 to 24 dB"),
        (DB, "1" * 33, "too long"),
        (ORDER, "4.0", "not an integer"),
        (ORDER, "9", "out of range; use an integer from 1 to 8"),
        (ON, "1", "use true or false"),
        (ON, "True", "use true or false"),
        (SHAPE, "saw", "use one of sine, square"),
        (CUTOFF, "7373", "out of range; use a number from 10 to 7372.8"),
    ],
)
def test_query_text_that_is_not_valid_is_refused_naming_what_is_allowed(
    option, text, says
):
    with pytest.raises(OptionError, match=f"^{option.name} .*{says}"):
        option.from_text(text, 16384)


def test_a_bound_given_as_a_fraction_of_the_rate_is_resolved_per_session():
    assert CUTOFF.bounds(8000) == (10, 3600)
    assert CUTOFF.bounds(48000) == (10, 21600)
    with pytest.raises(OptionError):
        CUTOFF.from_text("4000", 8000)
    assert CUTOFF.from_text("4000", 48000) == 4000


@pytest.mark.parametrize(
    ("option", "value", "taken"),
    [
        (DB, -12, -12.0),
        (DB, 1.5, 1.5),
        (ORDER, 2, 2),
        (ORDER, 2.0, 2),
        (ON, True, True),
    ],
)
def test_json_values_of_the_right_type_are_taken(option, value, taken):
    assert option.from_json(value, 16384) == taken
    assert type(option.from_json(value, 16384)) is type(taken)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        (DB, True),  # a bool is not a number here
        (DB, "-6"),
        (DB, None),
        (DB, 25),
        (DB, float("nan")),
        (ORDER, 2.5),
        (DB, 10**400),  # JSON integers have no limit; a float cannot hold this
        (ORDER, -(10**400)),
        (ON, 1),
        (SHAPE, 1),
        (SHAPE, "saw"),
    ],
)
def test_json_values_of_the_wrong_type_or_range_are_refused(option, value):
    with pytest.raises(OptionError, match=f"^{option.name} "):
        option.from_json(value, 16384)


def test_the_schema_of_every_builtin_is_json_with_every_option_described():
    schemas = json.loads(json.dumps([cls.schema() for cls in PROCESSORS.values()]))
    by_name = {schema["name"]: schema for schema in schemas}
    assert by_name["echo"] == {
        "name": "echo",
        "description": "sends every frame back unchanged",
        "category": "basic",
        "identity": True,
        "heavy": False,
        "cost_per_second": {},
        "options": [],
    }
    highpass = {option["name"]: option for option in by_name["highpass"]["options"]}
    assert highpass["cutoff_hz"] == {
        "name": "cutoff_hz",
        "type": "float",
        "default": 100.0,
        "description": "the -3 dB frequency",
        "unit": "Hz",
        "min": 10,
        "max_fraction_of_rate": 0.45,
    }
    for schema in schemas:
        assert schema["category"] in (
            "basic",
            "filters",
            "dynamics",
            "effects",
            "voice",
            "analysis",
        )
        for option in schema["options"]:
            assert option["description"]
            assert option["type"] in ("float", "int", "bool", "choice")


def test_the_builtins_are_the_documented_ones_with_their_identity_flags():
    identities = {name for name, cls in PROCESSORS.items() if cls.identity}
    assert list(PROCESSORS) == [
        "echo",
        "gain",
        "highpass",
        "lowpass",
        "compressor",
        "limiter",
        "delay",
        "reverb",
        "robot",
        "denoise",
        "vad",
        "analysis",
    ]
    assert identities == {"echo", "analysis"}


def test_a_chain_of_identities_returns_the_very_block_it_got():
    chain = Chain.build(PROCESSORS, ["echo", "analysis"], {}, 16384)
    block = np.zeros(1024, dtype=np.float32)
    assert chain.identity
    assert chain.process(block) is block


def test_a_chain_runs_its_stages_one_after_another():
    rate = 16384
    names = ["highpass", "compressor", "gain"]
    texts = {"gain": {"db": "-6"}, "highpass": {"cutoff_hz": "300"}}
    chain = Chain.build(PROCESSORS, names, texts, rate)
    stages = [Chain.build(PROCESSORS, [name], texts, rate) for name in names]
    block = np.random.default_rng(5).uniform(-0.5, 0.5, 4096).astype(np.float32)
    expected = block
    for stage in stages:
        expected = stage.process(expected)
    assert chain.process(block).tobytes() == expected.tobytes()
    assert not chain.identity


def test_configure_changes_only_what_it_names_and_returns_every_value():
    chain = Chain.build(PROCESSORS, ["delay"], {"delay": {"mix": "1"}}, 16384)
    values = chain.configure("delay", {"feedback": 0.5})
    assert values == {"delay_ms": 250.0, "feedback": 0.5, "mix": 1.0}


@pytest.mark.parametrize(
    ("processor", "options", "says"),
    [
        ("reverb", {"wet": 1}, "not in this session's chain: gain"),
        (7, {"db": 1}, "not in this session's chain"),
        ("gain", [], "options must be an object"),
        ("gain", {"gain": 1}, "gain has no option 'gain'; its options: db"),
        ("gain", {"db": 100}, "gain.db is 100, out of range"),
    ],
)
def test_a_bad_configure_is_refused_and_leaves_the_old_values(processor, options, says):
    chain = Chain.build(PROCESSORS, ["gain"], {"gain": {"db": "-3"}}, 16384)
    with pytest.raises(OptionError, match=says):
        chain.configure(processor, options)
    assert chain.describe() == [{"name": "gain", "options": {"db": -3.0}}]


def test_a_processor_without_options_takes_no_change():
    chain = Chain.build(PROCESSORS, ["echo"], {}, 16384)
    assert chain.configure("echo", {}) == {}
    with pytest.raises(OptionError, match="echo has no option"):
        chain.configure("echo", {"db": 1})


class Tremble(Processor):
    name = "tremble"
    description = "for the registry's tests"


def test_a_class_named_by_a_dotted_path_joins_the_builtins():
    cls = load_processor(f"{__name__}.Tremble")
    registry = build_registry([Echo, cls])
    assert registry == {"echo": Echo, "tremble": Tremble}


@pytest.mark.parametrize(
    "path", ["Tremble", f"{__name__}.Missing", "json.dumps", "no_such_module.X"]
)
def test_a_dotted_path_that_is_not_a_processor_class_is_refused(path):
    with pytest.raises(ImportError):
        load_processor(path)


@pytest.mark.parametrize("name", ["Tremble", "9lives", "x" * 33, "a-b", ""])
def test_a_processor_name_that_does_not_fit_a_query_key_is_refused(name):
    cls = type("Odd", (Tremble,), {"name": name})
    with pytest.raises(ValueError, match="name must match"):
        build_registry([cls])


def test_two_processors_of_one_name_are_refused():
    with pytest.raises(ValueError, match="two processors are called 'echo'"):
        build_registry([Echo, type("Other", (Echo,), {})])


@pytest.mark.parametrize(
    "option",
    [
        Option.number("Loud", 0, min=0, max=1, description="capitals"),
        Option("level", "decimal", 0, "a type that is not one"),
    ],
)
def test_an_option_that_does_not_fit_a_query_key_or_a_type_is_refused(option):
    cls = type("Odd", (Tremble,), {"options": (option,)})
    with pytest.raises(ValueError, match="tremble: option"):
        build_registry([cls])


def test_an_option_may_leave_out_either_bound():
    louder = Option.number("db", 0, min=0, unit="dB", description="no upper bound")
    free = Option.integer("count", 1, description="no bounds")
    assert louder.from_text("1e6", 8000) == 1e6
    with pytest.raises(OptionError, match="use a number of at least 0 dB"):
        louder.from_text("-1", 8000)
    assert free.from_text("-5", 8000) == -5


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
EVERY_OPTION = [(cls, option) for cls in PROCESSORS.values() for option in cls.options]


@settings(max_examples=300, deadline=None)
@given(
    choice=st.sampled_from(EVERY_OPTION),
    value=JSON_VALUES,
    text=st.text(max_size=40),
    rate=st.sampled_from([8000, 16384, 48000]),
)
def test_any_value_from_a_client_is_taken_or_refused_never_a_crash(
    choice, value, text, rate
):
    cls, option = choice
    for parse, given_value in ((option.from_json, value), (option.from_text, text)):
        try:
            taken = parse(given_value, rate)
        except OptionError:
            continue
        low, high = option.bounds(rate)
        if option.kind in ("float", "int"):
            assert low <= taken <= high
        instance = cls(rate, **{**cls.defaults(rate), option.name: taken})
        instance.configure({option.name: taken})
        out = instance.process(np.zeros(64, dtype=np.float32))
        assert out.shape == (64,)
