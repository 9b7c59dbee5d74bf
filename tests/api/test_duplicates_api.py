"""Near-duplicates in triage and merging over the API: the duplicate's process ends, it follows
the original's reply, its citizen is notified; refusals; department scoping."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import HumanTask, Timer
from engine.models import PENDING_TASK_STATUSES, OutboxMessage
from tests.api.drive import Citizen, Desk, is_problem
from workflows.models import Petition

ELEVATOR = {"title": "景蓉华苑小区电梯坏了三天没人修", "location": "景蓉华苑小区5栋",
            "body": "我住在景蓉华苑小区5栋，电梯已经坏了三天，物业一直不来维修，老人上下楼很困难。"}
REPHRASED = {"title": "景蓉华苑电梯故障无人维修", "location": "景蓉华苑", "contact_phone": "13900002222",
             "body": "景蓉华苑5栋的电梯停运好几天了，物业公司迟迟不修，老年人出行非常不便，请督促物业尽快修好电梯。"}
UNRELATED = {"title": "孩子入学学位咨询", "location": "A3区",
             "body": "请问今年小学一年级的入学报名需要哪些材料，户口不在本区能否就读。"}


@pytest.fixture
def desk(client, as_staff, reference_data) -> Desk:
    return Desk(client, as_staff)


def petition_id(db, citizen: Citizen) -> int:
    with db.read() as session:
        return session.scalar(select(Petition.id).where(Petition.tracking_no == citizen.tracking_no))


def merge(desk: Desk, duplicate: int, original: int, who: str = "dispatcher", **body):
    return desk.client.post(f"/api/v1/petitions/{duplicate}/merge", json={"into": original, **body},
                            headers=desk.headers(who))


def test_the_triage_task_lists_near_duplicates(desk, db):
    original = desk.submit(**ELEVATOR)
    desk.submit(**UNRELATED)
    rephrased = desk.submit(**REPHRASED)
    task = desk.task("dispatcher", rephrased.tracking_no, "triage_petition")
    detail = desk.client.get(f"/api/v1/tasks/{task['id']}", headers=desk.headers("dispatcher")).get_json()

    [duplicate] = detail["duplicates"]
    assert duplicate["tracking_no"] == original.tracking_no and duplicate["id"] == petition_id(db, original)
    assert duplicate["title"] == ELEVATOR["title"] and duplicate["status"] == "triage"
    assert duplicate["department_code"] is None and 0.3 <= duplicate["score"] <= 1
    listed = desk.client.get(f"/api/v1/petitions/{petition_id(db, original)}/duplicates", headers=desk.headers("supervisor"))
    assert [d["tracking_no"] for d in listed.get_json()["items"]] == [rephrased.tracking_no]


def test_a_merged_duplicate_follows_the_original_and_its_citizen_is_told(desk, db):
    original, duplicate = desk.submit(**ELEVATOR), desk.submit(**REPHRASED)
    original_id, duplicate_id = petition_id(db, original), petition_id(db, duplicate)

    response = merge(desk, duplicate_id, original_id)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "merged" and response.get_json()["merged_into_id"] == original_id
    with db.read() as session:  # the duplicate's process ended cleanly
        instance_id = session.get(Petition, duplicate_id).instance_id
        assert session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                       HumanTask.status.in_(PENDING_TASK_STATUSES))).all() == []
        assert session.scalars(select(Timer).where(Timer.instance_id == instance_id)).all() == []
    assert "merged" in [e["kind"] for e in desk.events(duplicate_id, page_size=100).get_json()["items"]]
    assert "duplicate_merged" in [e["kind"] for e in desk.events(original_id, page_size=100).get_json()["items"]]
    view = duplicate.view().get_json()
    assert view["merged"] is True and view["timeline"][-1]["event"] == "merged" and view["reply"] is None
    assert original.tracking_no not in str(view) and "张三" not in str(view)  # nothing of the other citizen

    desk.dispatch(original)
    desk.reply(original, text="电梯已修复并恢复运行")
    view = duplicate.view().get_json()
    assert (view["status"], view["reply"]) == ("replied", "电梯已修复并恢复运行")
    with db.read() as session:
        told = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == REPHRASED["contact_phone"])
                               .order_by(OutboxMessage.id)).all()
    assert [m.subject for m in told] == ["您的诉求已与相同诉求合并办理", "您的诉求已合并办理并答复"]
    assert told[-1].body == "电梯已修复并恢复运行" and told[-1].channel == "citizen"

    assert original.feedback(rating=5, solved=True).status_code == 200
    assert duplicate.view().get_json()["status"] == "closed"


def test_merges_that_make_no_sense_are_refused(desk, db):
    a, b, c = (petition_id(db, desk.submit(**fields)) for fields in (ELEVATOR, REPHRASED, UNRELATED))
    assert is_problem(merge(desk, a, a), 422) and "into" in merge(desk, a, a).get_json()["errors"]
    assert is_problem(merge(desk, a, 999999), 422)
    assert is_problem(desk.client.post(f"/api/v1/petitions/{a}/merge", json={}, headers=desk.headers("dispatcher")), 422)
    assert is_problem(merge(desk, 999999, a), 404)
    assert merge(desk, b, a).status_code == 200
    assert is_problem(merge(desk, b, c), 409)  # already merged
    assert is_problem(merge(desk, a, b), 409)  # into a merged petition: no cycle
    assert is_problem(merge(desk, c, b), 409)


def test_past_triage_only_a_supervisor_merges_and_a_lost_race_is_a_conflict(desk, db):
    original, duplicate = desk.submit(**ELEVATOR), desk.submit(**REPHRASED)
    original_id, duplicate_id = petition_id(db, original), petition_id(db, duplicate)
    triage = desk.task("dispatcher", original.tracking_no, "triage_petition")
    desk.dispatch(duplicate, sign=False)  # the other dispatcher triaged it first

    assert is_problem(merge(desk, duplicate_id, original_id), 409)
    assert merge(desk, duplicate_id, original_id, who="supervisor").status_code == 200
    assert desk.inbox("handler:D01")["items"] == []  # its sign-for task went with its process

    assert merge(desk, original_id, petition_id(db, desk.submit(**ELEVATOR))).status_code == 200
    late = desk.complete("dispatcher", triage["id"], {"decision": "dispatch", "department": "D01"})
    assert is_problem(late, 409)  # merged meanwhile: the triage decision lost


def test_a_handler_sees_neither_another_departments_petition_nor_its_duplicates(desk, db):
    original, twin, other = desk.submit(**ELEVATOR), desk.submit(**REPHRASED), desk.submit(**ELEVATOR)
    desk.dispatch(original, "D01", sign=False)
    desk.dispatch(twin, "D01", sign=False)
    desk.dispatch(other, "D02", sign=False)
    original_id = petition_id(db, original)

    def listed(who: str, pid: int = original_id):
        return desk.client.get(f"/api/v1/petitions/{pid}/duplicates", headers=desk.headers(who))

    assert sorted(d["tracking_no"] for d in listed("dispatcher").get_json()["items"]) == sorted(
        [twin.tracking_no, other.tracking_no])
    assert [d["tracking_no"] for d in listed("handler:D01").get_json()["items"]] == [twin.tracking_no]
    assert is_problem(listed("handler:D02"), 404)
    assert is_problem(listed("handler:D01", petition_id(db, other)), 404)
