"""The weighted ranking of departments (综合得分): KPIs and the panel's scores, one number each.

Each component is a score from 0 to 1: a rate where higher is better as it is (on-time
sign-for, on-time completion, response, resolution, satisfaction), one where lower is better
as 1 − rate (reopen, return, extension), the panel's average total over its maximum. The
department's score is 100 × Σ wᵢ·sᵢ / Σ wᵢ over the components it *has*.

A component with insufficient data (a rate below the minimum sample, no panel scores) is left
out of both sums: the department is scored on the rest, re-weighted, so a small sample
neither wins (an unearned 100 %) nor loses (an unearned 0 %) points. A department whose
available weight falls below `min_coverage` of the total is not ranked at all: it is listed
after the ranked ones as 样本不足. Ties are ranked equal (1, 2, 2, 4). docs/evaluation.md
documents the defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import PetitionError
from .kpis import DepartmentKpis

# Defaults: the citizen's view (satisfaction, completion on time) weighs most; 100 in all.
DEFAULT_WEIGHTS: dict[str, float] = {
    "on_time_sign": 10, "on_time_completion": 20, "response": 10, "resolution": 10, "satisfaction": 20,
    "reopen": 5, "return_": 5, "extension": 0, "panel": 20,
}
HIGHER_IS_BETTER = ("on_time_sign", "on_time_completion", "response", "resolution", "satisfaction")
LOWER_IS_BETTER = ("reopen", "return_", "extension")
DEFAULT_MIN_COVERAGE = 0.5
SCORE_DIGITS = 2


class InvalidWeights(PetitionError):
    def __init__(self, problems: dict[str, list[str]]):
        self.errors = problems
        super().__init__("invalid ranking weights: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in problems.items()))


@dataclass(frozen=True)
class Weights:
    """Weight of each component; only the ratio between them matters."""

    values: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    min_coverage: float = DEFAULT_MIN_COVERAGE

    @classmethod
    def from_config(cls, overrides: Mapping[str, float] | None, min_coverage: float | None = None) -> Weights:
        """The defaults with `overrides` applied. Raises InvalidWeights naming unknown
        components and negative or non-numeric weights."""
        overrides = dict(overrides or {})
        problems = {key: ["unknown component; known: " + ", ".join(DEFAULT_WEIGHTS)]
                    for key in overrides if key not in DEFAULT_WEIGHTS}
        problems |= {key: ["must be a number ≥ 0"] for key, value in overrides.items() if key in DEFAULT_WEIGHTS
                     and (isinstance(value, bool) or not isinstance(value, int | float) or value < 0)}
        values = {**DEFAULT_WEIGHTS, **overrides}
        if not problems and sum(values.values()) <= 0:
            problems["weights"] = ["at least one weight must be positive"]
        coverage = DEFAULT_MIN_COVERAGE if min_coverage is None else min_coverage
        if not 0 <= coverage <= 1:
            problems["min_coverage"] = ["must be between 0 and 1"]
        if problems:
            raise InvalidWeights(problems)
        return cls(values, coverage)

    @property
    def total(self) -> float:
        return sum(self.values.values())


@dataclass(frozen=True)
class Ranked:
    department_code: str
    department_name: str
    score: float | None  # None: too little data to rank
    rank: int | None
    components: dict[str, float | None]  # each component's 0–1 score, None where insufficient
    coverage: float  # share of the total weight the score rests on


def components(kpis: DepartmentKpis, panel_total: float | None, panel_maximum: float) -> dict[str, float | None]:
    """Each component's score from 0 to 1, None where there is not enough data."""
    scores: dict[str, float | None] = {}
    for name in HIGHER_IS_BETTER:
        rate = getattr(kpis, name)
        scores[name] = rate.value if rate.sufficient else None
    for name in LOWER_IS_BETTER:
        rate = getattr(kpis, name)
        scores[name] = 1 - rate.value if rate.sufficient else None
    scores["panel"] = panel_total / panel_maximum if panel_total is not None else None
    return scores


def score(parts: Mapping[str, float | None], weights: Weights) -> tuple[float | None, float]:
    """(score out of 100 or None, coverage): the weighted mean over the components present."""
    present = {name: value for name, value in parts.items() if value is not None and weights.values.get(name, 0) > 0}
    weight = sum(weights.values[name] for name in present)
    coverage = weight / weights.total
    if weight == 0 or coverage < weights.min_coverage:
        return None, coverage
    return round(100 * sum(weights.values[n] * v for n, v in present.items()) / weight, SCORE_DIGITS), coverage


def rank(departments: list[DepartmentKpis], panel_totals: Mapping[str, float], panel_maximum: float,
         weights: Weights) -> list[Ranked]:
    """Departments by score, best first, equal scores sharing a rank; unranked ones last, by code."""
    scored = []
    for kpis in departments:
        parts = components(kpis, panel_totals.get(kpis.department_code or ""), panel_maximum)
        value, coverage = score(parts, weights)
        scored.append((kpis, parts, value, coverage))
    scored.sort(key=lambda item: (item[2] is None, -(item[2] or 0), item[0].department_code or ""))
    ranked: list[Ranked] = []
    for position, (kpis, parts, value, coverage) in enumerate(scored, start=1):
        same = ranked and value is not None and ranked[-1].score == value
        place = None if value is None else (ranked[-1].rank if same else position)
        ranked.append(Ranked(kpis.department_code or "", kpis.department_name, value, place, parts, round(coverage, 4)))
    return ranked
