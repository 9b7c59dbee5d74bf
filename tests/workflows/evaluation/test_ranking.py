"""The weighted ranking from hand-computed KPIs and panel scores."""

from __future__ import annotations

import pytest

from workflows.evaluation.kpis import DepartmentKpis, Rate
from workflows.evaluation.ranking import InvalidWeights, Weights, rank, score

NONE = Rate(0, 0, None)


def kpis(code: str, **rates: Rate) -> DepartmentKpis:
    base = {name: NONE for name in ("on_time_sign", "on_time_completion", "response", "resolution", "satisfaction",
                                    "reopen", "return_", "extension")}
    return DepartmentKpis(code, f"部门{code}", 50, **{**base, **rates}, avg_reply_days=None, p90_reply_days=None,
                          urges=0, supervision_orders=0, public_notices=0, open_overdue=0)


def r(value: float) -> Rate:
    return Rate(int(value * 20), 20, value)


# Weights of three components only, so the sums are easy by hand.
WEIGHTS = Weights.from_config({"on_time_sign": 0, "response": 0, "resolution": 0, "reopen": 0, "return_": 0,
                               "on_time_completion": 40, "satisfaction": 40, "panel": 20})


def test_ranking_order_and_scores_by_hand():
    departments = [
        kpis("A", on_time_completion=r(0.9), satisfaction=r(0.8)),  # 40·.9 + 40·.8 + 20·.85 = 85
        kpis("B", on_time_completion=r(1.0), satisfaction=r(0.6)),  # 40 + 24 + 20·.95 = 83
        kpis("C", on_time_completion=r(0.7), satisfaction=r(0.9)),  # no panel: (28 + 36) / 80 = 80
        kpis("D", on_time_completion=r(0.95), satisfaction=r(0.75)),  # 38 + 30 + 17 = 85, tied with A
    ]
    ranked = rank(departments, {"A": 85, "B": 95, "D": 85}, 100, WEIGHTS)
    assert [(x.department_code, x.score, x.rank) for x in ranked] == [
        ("A", 85.0, 1), ("D", 85.0, 1), ("B", 83.0, 3), ("C", 80.0, 4)]
    assert ranked[3].coverage == 0.8 and ranked[3].components["panel"] is None


def test_insufficient_data_neither_wins_nor_loses():
    # E's satisfaction sample is too small: had it counted as 100 % E would lead, as 0 % it would trail.
    departments = [kpis("E", on_time_completion=r(0.8), satisfaction=Rate(2, 2, None)),
                   kpis("F", on_time_completion=r(0.8), satisfaction=r(0.8))]
    ranked = rank(departments, {"E": 80, "F": 80}, 100, WEIGHTS)
    assert [(x.department_code, x.score) for x in ranked] == [("E", 80.0), ("F", 80.0)]
    assert ranked[0].rank == ranked[1].rank == 1


def test_too_little_data_is_not_ranked():
    departments = [kpis("G", satisfaction=r(0.9)), kpis("H", on_time_completion=r(0.5), satisfaction=r(0.5))]
    ranked = rank(departments, {}, 100, WEIGHTS)  # G rests on 40 % of the weight, below the 50 % minimum
    assert [(x.department_code, x.score, x.rank) for x in ranked] == [("H", 50.0, 1), ("G", None, None)]


def test_lower_is_better_rates_are_inverted():
    weights = Weights.from_config({name: 0 for name in ("on_time_sign", "on_time_completion", "response",
                                                        "resolution", "satisfaction", "panel")}
                                  | {"reopen": 1, "return_": 1, "extension": 2}, min_coverage=0)
    value, coverage = score({"reopen": 1 - 0.1, "return_": 1 - 0.3, "extension": None}, weights)
    assert (value, coverage) == (80.0, 0.5)


def test_weights_are_checked():
    with pytest.raises(InvalidWeights) as refused:
        Weights.from_config({"speed": 3, "satisfaction": -1, "panel": "x"}, min_coverage=2)
    assert set(refused.value.errors) == {"speed", "satisfaction", "panel", "min_coverage"}
    assert Weights.from_config(None).total == 100
