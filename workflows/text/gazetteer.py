"""Places, estates and organisations learned from the petitions themselves.

Petitions name places the segmenter has never seen ("景蓉华苑", "潇楚南路", "A3区"); cut into
characters they are useless for grouping and unreadable in labels. Candidates are Chinese
strings ending in a place or organisation suffix (小区, 花园, 苑, 路, 村, 公司, …) with 2 to 5
characters before it, plus the region codes of the anonymised data (A市, A3区, A7县). A
candidate is kept when enough petitions name it and it is a whole name: no function
character inside ("住在景蓉华苑"), and not mostly the tail of one longer candidate ("蓉华苑" of
"景蓉华苑": when one left extension accounts for most of its petitions, the extension wins).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import jieba

PLACE_SUFFIXES = ("小区", "花园", "家园", "公寓", "大厦", "广场", "新城", "新村", "社区", "街道", "大道", "市场", "公园",
                  "苑", "园", "村", "镇", "乡", "路", "街", "巷", "湾", "城", "庭", "湖", "河", "山", "桥")
# Organisations and facilities: kept whole, but not what a topic's place is.
ORGANISATION_SUFFIXES = ("中学", "小学", "学校", "幼儿园", "医院", "大学", "学院", "公司", "银行", "集团", "中心", "厂", "局",
                         "站")
SUFFIXES = tuple(sorted(PLACE_SUFFIXES + ORGANISATION_SUFFIXES, key=len, reverse=True))
# A suffix followed by these characters is the start of another word: 城市, 站在, 中心城区.
NOT_BEFORE = {"城": "市管乡区镇际", "站": "在出起立", "中心": "城区"}
MAX_CORE = 5
STOP_CHARS = frozenset("的了是在我你他她它这那们有没也都就还和与及或等把被从到给让请该此其每各住位于个些哪啥么吗呢吧啊要会能为过因由应对向设将问")
COMMON_WORD = 3000  # a core starting with a dictionary word this frequent is a phrase (导致小区), not a name
REGION = re.compile(r"[A-Z]\d*[市区县]")
SUFFIX = re.compile("|".join(s + (f"(?![{NOT_BEFORE[s]}])" if s in NOT_BEFORE else "") for s in SUFFIXES))
CORE = re.compile(r"[\u4e00-\u9fff]{2,%d}$" % MAX_CORE)
HAN = re.compile(r"[\u4e00-\u9fff]")
DOMINANT_EXTENSION = 0.6  # a name preceded this often by one same character is the tail of a longer one


@dataclass(frozen=True)
class Gazetteer:
    """Learned names with the number of petitions naming each."""

    regions: dict[str, int]  # A市, A3区, …
    names: dict[str, int]  # estates, roads, villages, organisations

    def terms(self) -> list[str]:
        return [*self.regions, *self.names]

    def __len__(self) -> int:
        return len(self.regions) + len(self.names)


def learn(texts: Iterable[str], min_count: int = 2) -> Gazetteer:
    """The names that at least `min_count` of `texts` contain."""
    jieba.dt.check_initialized()
    regions: Counter[str] = Counter()
    candidates: Counter[str] = Counter()
    left: Counter[tuple[str, str]] = Counter()  # (name, the character before it): how many petitions
    for text in texts:
        regions.update(set(REGION.findall(text)))
        found: set[tuple[str, str]] = set()
        for part in REGION.split(text):
            for suffix in SUFFIX.finditer(part):
                core = CORE.search(part, max(0, suffix.start() - MAX_CORE), suffix.start())
                if core:
                    before = part[core.start() - 1] if core.start() else ""
                    found.update(_tails(core.group(), suffix.group(), before if HAN.match(before) else ""))
        candidates.update({name for name, _ in found})
        left.update(found)
    fragments = {name for (name, before), count in left.items()
                 if before and before not in STOP_CHARS and count >= DOMINANT_EXTENSION * candidates[name]}
    names = {name: count for name, count in candidates.items() if count >= min_count and name not in fragments}
    return Gazetteer({r: n for r, n in regions.items() if n >= min_count}, names)


def _tails(core: str, suffix: str, before: str) -> Iterable[tuple[str, str]]:
    """core + suffix and each shorter candidate inside it that ends with the same suffix, each
    with the Chinese character before it ("" at a boundary)."""
    for start in range(len(core) - 1):
        tail = core[start:]
        if not STOP_CHARS.intersection(tail) and not _phrase(tail, suffix):
            yield tail + suffix, core[start - 1] if start else before


@lru_cache(maxsize=100_000)
def suffix_of(name: str) -> str:
    return next(s for s in SUFFIXES if name.endswith(s))


def is_place(name: str) -> bool:
    """A place (estate, road, village, …) rather than an organisation or a region code."""
    return not REGION.fullmatch(name) and suffix_of(name) in PLACE_SUFFIXES


@lru_cache(maxsize=500_000)
def _phrase(core: str, suffix: str) -> bool:
    """Whether core + suffix reads as ordinary words: a frequent word opens it (导致|小区) or
    closes it (封闭|道路), or a lone character precedes a word that takes the suffix (条|道路)."""
    freq = jieba.dt.FREQ
    if any(freq.get(core[:end], 0) >= COMMON_WORD for end in range(2, len(core) + 1)):
        return True
    return freq.get(core[-1] + suffix, 0) >= COMMON_WORD or bool(freq.get(core[1:] + suffix))


