"""On the real messages (../shared/datasets): import round-trip and the hot topics of a quarter."""

from __future__ import annotations

import csv
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.workflows.text.crafted import DATASETS
from workflows.models import Petition
from workflows.text.hotspots import discover, local_period
from workflows.text.importer import import_messages

HOT = DATASETS / "messages_hot.csv"
SHANGHAI = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.skipif(not HOT.exists(), reason=f"the shared datasets are not there ({HOT})")


def test_messages_hot_imports_whole_and_its_hottest_matters_are_real(db):
    with HOT.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with HOT.open(encoding="utf-8-sig", newline="") as handle, db.write() as session:
        report = import_messages(session, handle, "messages_hot", datetime.now(timezone.utc), SHANGHAI)
    assert (report.read, report.added) == (len(rows), len(rows))
    with db.read() as session:
        totals = session.execute(select(func.count(), func.count(func.distinct(Petition.petitioner_ref)),
                                        func.sum(Petition.likes))).one()
        # the quarter the parking spaces of 伊景园滨河苑 were sold bundled with the flats
        topics = discover(session, *local_period(date(2019, 7, 1), date(2019, 9, 30), SHANGHAI), limit=3)
    assert tuple(totals) == (len(rows), len({r["user"] for r in rows}), sum(int(r["likes"]) for r in rows))
    top = topics[0]
    assert top.place == "伊景园滨河苑" and {"车位", "捆绑"} <= set(top.terms)
    assert top.petitioners >= 30 and all("伊景园" in r.title for r in top.representatives)
