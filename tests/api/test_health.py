"""`GET /api/v1/health` on the real app and database."""

from __future__ import annotations

from workflows.calendar import seed_from_library


def test_health_reports_missing_calendar_data_as_degraded(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["database"] is True and body["status"] == "degraded"
    assert body["calendar"]["missing"], "no holiday data has been loaded yet"


def test_health_ok_once_the_calendar_is_seeded(client, app, db):
    from engine.db import utcnow

    now = utcnow()
    with db.write() as session:
        seed_from_library(session, [now.year, now.year + 1], now)
    app.extensions["minyi"].domain.calendar.invalidate()
    body = client.get("/api/v1/health").get_json()
    assert body["status"] == "ok" and body["calendar"]["missing"] == []
    assert body["open_incidents"] == 0 and body["workers_alive"] == 0
