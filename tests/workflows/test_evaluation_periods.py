"""Evaluation periods and the percentile of reply times: pure functions."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from workflows.evaluation.kpis import Rate, percentile
from workflows.evaluation.periods import InvalidPeriod, Quarter, Span, quarter_to_date


@pytest.mark.parametrize("text, first, last", [
    ("2026Q1", date(2026, 1, 1), date(2026, 3, 31)), ("2026q3", date(2026, 7, 1), date(2026, 9, 30)),
    ("2024Q4", date(2024, 10, 1), date(2024, 12, 31)),
])
def test_quarters(text, first, last):
    assert Quarter.parse(text).span == Span(first, last)


@pytest.mark.parametrize("text", ["2026Q5", "2026-3", "Q3", ""])
def test_a_malformed_quarter_is_refused(text):
    with pytest.raises(InvalidPeriod):
        Quarter.parse(text)


def test_quarter_to_date():
    assert quarter_to_date(date(2026, 8, 17)) == (date(2026, 7, 1), date(2026, 8, 17))


def test_nearest_rank_percentile_of_a_histogram():
    assert percentile(Counter({0: 2, 3: 2}), 0.9) == 3.0
    assert percentile(Counter({1: 9, 7: 1}), 0.9) == 1.0 and percentile(Counter({1: 9, 7: 2}), 0.9) == 7.0
    assert percentile(Counter(), 0.9) is None


def test_a_rate_needs_its_minimum_sample_and_a_zero_denominator_is_never_a_rate():
    assert Rate.of(9, 10, 10).value == 0.9 and Rate.of(9, 9, 10).value is None and Rate.of(0, 0, 0).value is None
