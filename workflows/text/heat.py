"""The heat index of a hotspot topic: how much public concern it shows at the end of a period.

    volume  = petitioners + 2 × ln(1 + petitions − petitioners)
    support = 2 × ln(1 + likes + 0.5 × dislikes)
    recency = 0.5 ^ (days from the topic's last petition to the period's end / 30)
    growth  = clamp((recent − previous) / (previous + 1), 0, 1)
    heat    = (volume + support) × (0.5 + 0.5 × recency) × (1 + 0.5 × growth)

Distinct petitioners count fully and repeat petitions by the same people on a log scale, so
one person writing sixty times (it happens) weighs less than ten people writing once. Likes (and, at half
weight, dislikes: both are attention) add on a log scale, so a viral message lifts its
topic without outweighing dozens of petitioners. A topic silent for a half-life (30 days)
keeps 75% of its heat, one long silent keeps 50%. Growth compares the latest window (7
days, see `Window`) with the one before it and adds up to 50%. Petitions without a known
petitioner count as distinct petitioners.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

REPEAT_WEIGHT = 2.0
SUPPORT_WEIGHT = 2.0
DISLIKE_WEIGHT = 0.5
HALF_LIFE = timedelta(days=30)
GROWTH_WEIGHT = 0.5


@dataclass(frozen=True)
class Window:
    """The latest window ends with the period; growth compares it with the window before."""

    end: datetime
    length: timedelta = timedelta(days=7)

    def recent(self, moment: datetime) -> bool:
        return self.end - self.length <= moment < self.end

    def previous(self, moment: datetime) -> bool:
        return self.end - 2 * self.length <= moment < self.end - self.length


@dataclass(frozen=True)
class Activity:
    """What the heat of one topic is computed from."""

    petitions: int
    petitioners: int
    likes: int
    dislikes: int
    last_at: datetime
    recent: int  # petitions in the latest window
    previous: int  # petitions in the window before it


def growth(recent: int, previous: int) -> float:
    """Relative growth of the latest window over the previous one, clamped to [0, 1]."""
    return min(1.0, max(0.0, (recent - previous) / (previous + 1)))


def heat(activity: Activity, end: datetime) -> float:
    """The heat index (module docstring) of `activity` at the period's `end`."""
    a = activity
    volume = a.petitioners + REPEAT_WEIGHT * math.log1p(a.petitions - a.petitioners)
    support = SUPPORT_WEIGHT * math.log1p(a.likes + DISLIKE_WEIGHT * a.dislikes)
    recency = 0.5 ** (max(0.0, (end - a.last_at) / HALF_LIFE))
    return (volume + support) * (0.5 + 0.5 * recency) * (1 + GROWTH_WEIGHT * growth(a.recent, a.previous))
