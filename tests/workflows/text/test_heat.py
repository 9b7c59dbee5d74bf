"""The heat index orders topics as docs/hotspots.md says, factor by factor."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from workflows.text.heat import Activity, Window, growth, heat

END = datetime(2026, 10, 1, tzinfo=timezone.utc)
BASE = Activity(petitions=10, petitioners=10, likes=0, dislikes=0, last_at=END, recent=0, previous=0)


def test_the_documented_formula_on_an_example():
    activity = Activity(petitions=12, petitioners=8, likes=20, dislikes=4, last_at=END - timedelta(days=30),
                        recent=6, previous=2)
    volume = 8 + 2 * math.log(1 + 4)
    support = 2 * math.log(1 + 20 + 2)
    expected = (volume + support) * (0.5 + 0.5 * 0.5) * (1 + 0.5 * 1.0)  # growth (6-2)/3 clamped to 1
    assert heat(activity, END) == pytest.approx(expected)


@pytest.mark.parametrize("hotter, cooler", [
    (replace(BASE, petitioners=10), replace(BASE, petitioners=3)),  # same petitions, more people
    (replace(BASE, petitions=20, petitioners=10), BASE),  # repeats still add
    (replace(BASE, likes=50), BASE),
    (replace(BASE, dislikes=50), BASE),  # attention, at half weight
    (replace(BASE, likes=50), replace(BASE, dislikes=50)),
    (BASE, replace(BASE, last_at=END - timedelta(days=20))),  # recency
    (replace(BASE, recent=6, previous=1), replace(BASE, recent=1, previous=6)),  # growth
], ids=["petitioners", "repeats", "likes", "dislikes", "likes over dislikes", "recency", "growth"])
def test_each_factor_orders_as_documented(hotter, cooler):
    assert heat(hotter, END) > heat(cooler, END)


def test_ten_petitioners_outweigh_one_writing_sixty_times():
    ten = replace(BASE, petitions=10, petitioners=10)
    assert heat(ten, END) > heat(replace(BASE, petitions=60, petitioners=1), END)


def test_a_viral_message_lifts_its_topic_but_not_above_dozens_of_petitioners():
    viral = replace(BASE, petitions=3, petitioners=3, likes=2000)
    assert heat(replace(BASE, petitions=10, petitioners=10), END) < heat(viral, END)
    assert heat(replace(BASE, petitions=24, petitioners=24), END) > heat(viral, END)


def test_recency_halves_at_most_and_growth_adds_at_most_half():
    old = replace(BASE, last_at=END - timedelta(days=3650))
    assert heat(old, END) == pytest.approx(heat(BASE, END) / 2, rel=1e-3)
    assert growth(100, 0) == 1.0 and growth(0, 5) == 0.0 and growth(3, 1) == 1.0 and growth(2, 1) == 0.5
    assert heat(replace(BASE, recent=100), END) == pytest.approx(1.5 * heat(BASE, END))


def test_windows_are_the_last_seven_days_and_the_seven_before():
    window = Window(END)
    assert window.recent(END - timedelta(days=7)) and not window.recent(END)
    assert window.previous(END - timedelta(days=14)) and not window.previous(END - timedelta(days=7))
