"""The gazetteer learns whole place and organisation names from petitions; the segmenter keeps them whole."""

from __future__ import annotations

from workflows.text import segment
from workflows.text.gazetteer import is_place, learn

TEXTS = [
    "A市A2区景蓉华苑物业管理有问题",
    "我家住在景蓉华苑，小区停车难",
    "投诉景蓉华苑的物业公司乱收费",
    "A2区潇楚南路路灯不亮",
    "潇楚南路晚上没有路灯",
    "导致小区居民出行困难",
    "导致小区门口拥堵",
    "A7县春华镇金鼎村水泥路",
    "春华镇金鼎村自来水到户",
]


def test_names_named_by_two_petitions_are_learned_whole():
    gazetteer = learn(TEXTS)
    assert {"景蓉华苑", "潇楚南路", "春华镇"} <= set(gazetteer.names)
    assert "春华镇金鼎村" in gazetteer.names  # always written after its town: town and village stay together
    assert gazetteer.regions == {"A2区": 2}  # A市 and A7县 appear once each


def test_fragments_and_phrases_are_not_names():
    names = set(learn(TEXTS).names)
    assert "蓉华苑" not in names and "楚南路" not in names  # tails of longer names
    assert "住在景蓉华苑" not in names  # a function character inside
    assert "导致小区" not in names  # a frequent word opens it


def test_a_name_in_one_petition_only_is_not_learned():
    assert "联丰路" not in learn(["座落在联丰路的影楼", *TEXTS]).names


def test_places_are_told_from_organisations_and_regions():
    assert is_place("景蓉华苑") and is_place("潇楚南路")
    assert not is_place("物业公司") and not is_place("搅拌站") and not is_place("A2区")


def test_added_words_stay_whole():
    before = segment.words("蔻湄琮璟苑麻将馆扰民")
    assert "蔻湄琮璟苑" not in before
    segment.add_words(["蔻湄琮璟苑"])
    assert segment.words("蔻湄琮璟苑麻将馆扰民")[0] == "蔻湄琮璟苑"
