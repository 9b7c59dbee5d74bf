"""`GET /api/v1/reports/hotspots` on imported petitions, through the real app."""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

import time_machine

from tests.workflows.text.crafted import END, as_csv, corpus
from workflows.text.importer import import_messages

SHANGHAI = ZoneInfo("Asia/Shanghai")


def import_crafted(db) -> dict[str, set[str]]:
    docs, truth = corpus()
    with db.write() as session:
        import_messages(session, io.StringIO(as_csv(docs)), "crafted", END, SHANGHAI)
    return truth


def test_hotspots_of_a_period(client, db, as_staff):
    import_crafted(db)
    response = client.get("/api/v1/reports/hotspots?from=2026-08-01&to=2026-09-30&limit=2",
                          headers=as_staff("evaluator"))
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["from"], body["to"]) == ("2026-08-01", "2026-09-30")
    assert [t["petitions"] for t in body["topics"]] == [8, 6]
    plant = body["topics"][0]
    assert plant["place"] == "A2区丽发新城小区" and "搅拌站" in plant["terms"]
    assert plant["petitioners"] == 8 and len(plant["representatives"]) == 3
    assert set(plant["representatives"][0]) == {"id", "title", "created_at"}
    assert "petition_ids" not in plant


def test_default_period_is_the_last_30_days(client, db, as_staff):
    import_crafted(db)
    with time_machine.travel(END, tick=False):  # END is midnight of 1 October, local time
        response = client.get("/api/v1/reports/hotspots", headers=as_staff("supervisor"))
    assert response.status_code == 200
    assert (response.json["from"], response.json["to"]) == ("2026-09-02", "2026-10-01")
    assert len(response.json["topics"]) == 3


def test_an_empty_period_has_no_topics(client, as_staff):
    response = client.get("/api/v1/reports/hotspots?from=2020-01-01&to=2020-01-31", headers=as_staff("admin"))
    assert response.status_code == 200 and response.json["topics"] == []


def test_bad_arguments_are_422_with_the_field(client, as_staff):
    for query, field in [("from=2026-09-30&to=2026-09-01", "from"), ("limit=0", "limit"), ("from=yesterday", "from")]:
        response = client.get(f"/api/v1/reports/hotspots?{query}", headers=as_staff("dispatcher"))
        assert response.status_code == 422, query
        assert response.mimetype == "application/problem+json" and field in response.json["errors"], response.json
