"""docs/processors.md names every built-in and each of its options as declared."""

import re
from pathlib import Path

import pytest

from echo.processors import PROCESSORS, Option

DOC = (Path(__file__).resolve().parents[2] / "docs" / "processors.md").read_text()
BUILTINS_SECTION = DOC.split("\n## The built-ins\n", 1)[1].split("\n## ", 1)[0]


def section(name: str) -> str:
    """The text under a built-in's own heading, up to the next heading."""
    return BUILTINS_SECTION.split(f"\n### `{name}`\n", 1)[1].split("\n#", 1)[0]


def rows(text: str) -> dict[str, list[str]]:
    """The cells of each table row whose first cell is a backquoted name, by name."""
    found = {}
    for line in text.splitlines():
        if match := re.fullmatch(r"\| `(\w+)` \|(.*)\|", line):
            found[match[1]] = [cell.strip() for cell in match[2].split("|")]
    return found


def shown(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def documented_range(option: Option) -> str:
    if option.kind == "bool":
        return "true or false"
    if option.kind == "choice":
        return ", ".join(option.choices)
    if option.max_fraction_of_rate is not None:
        return f"{option.min:g} to {option.max_fraction_of_rate:g} × rate"
    return f"{option.min:g} to {option.max:g}"


def test_the_built_ins_documented_are_exactly_the_registered_ones():
    headings = re.findall(r"^### `(\w+)`$", BUILTINS_SECTION, flags=re.MULTILINE)
    assert headings == list(PROCESSORS)


def test_the_summary_table_gives_each_built_in_its_category():
    summary = rows(BUILTINS_SECTION.split("\n### ", 1)[0])
    assert {name: cells[0] for name, cells in summary.items()} == {
        name: cls.category for name, cls in PROCESSORS.items()
    }


@pytest.mark.parametrize("name", list(PROCESSORS))
def test_each_option_is_documented_with_its_range_default_and_unit(name):
    documented = rows(section(name))
    declared = PROCESSORS[name].options
    assert list(documented) == [option.name for option in declared]
    for option in declared:
        range_, default, unit = documented[option.name][:3]
        assert (range_, default, unit) == (
            documented_range(option),
            shown(option.default),
            option.unit,
        ), option.name


def test_a_processor_without_options_says_so():
    for name, cls in PROCESSORS.items():
        if not cls.options:
            assert section(name).strip().startswith("No options."), name
