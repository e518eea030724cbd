"""Bar-chart geometry: round scales, one bar per value, every nonzero bar visible."""

import pytest

from echo.records.charts import bar_chart, nice_ceiling


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [
        (0, 1.0),
        (1, 1.0),
        (3, 5.0),
        (7, 10.0),
        (10, 10.0),
        (11, 20.0),
        (0.36, 0.5),
        (0.04, 0.05),
        (1234, 2000.0),
    ],
)
def test_the_axis_top_is_the_next_1_2_or_5_times_a_power_of_ten(value, ceiling):
    assert nice_ceiling(value) == pytest.approx(ceiling)


def test_bars_share_the_plot_width_and_scale_to_the_round_top():
    chart = bar_chart(
        [4, 0, 2], ["mon", "tue", "wed"], format_value=str, unit="sessions"
    )
    plot_height = chart.plot_bottom - chart.plot_top
    assert chart.top_value == "5"
    assert [bar.height for bar in chart.bars] == pytest.approx(
        [plot_height * 4 / 5, 0, plot_height * 2 / 5]
    )
    assert all(
        bar.y + bar.height == pytest.approx(chart.plot_bottom) for bar in chart.bars
    )
    assert chart.bars[0].x >= chart.plot_left
    assert chart.bars[-1].x + chart.bars[-1].width <= chart.plot_right
    assert chart.bars[1].x - (chart.bars[0].x + chart.bars[0].width) == pytest.approx(1)
    assert [bar.title for bar in chart.bars] == [
        "mon: 4 sessions",
        "tue: 0 sessions",
        "wed: 2 sessions",
    ]
    assert (chart.first_label, chart.last_label) == ("mon", "wed")


def test_a_tiny_value_beside_a_large_one_still_gets_a_visible_bar():
    chart = bar_chart([1000, 0.001], ["a", "b"], format_value=str, unit="h")
    assert chart.bars[1].height == 1.0


def test_values_and_labels_must_pair_up():
    with pytest.raises(ValueError, match="2 values but 1 labels"):
        bar_chart([1, 2], ["a"], format_value=str, unit="h")
