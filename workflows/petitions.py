"""Petitions: submission, completing their tasks with validated forms, and keeping the row in
step with the process.

The process drives the petition: scripts emit `status`, `escalation` and `notify` effects,
and `apply_effects` (an engine step listener) applies them to the petition row, the
escalation table and the notification outbox in the step's own transaction.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, exists, select
from sqlalchemy.orm import Session, aliased

from engine import Engine, HumanTask, PreparedStart, PreparedStep, ProcessInstance, StepReport, UnknownTask, audit
from engine.effects import Effect
from engine.outbox import enqueue

from .calendar import BusinessCalendar
from .errors import InvalidForm, UnknownPetition
from .evaluation import facts
from .evaluation.models import KpiAssignment
from .forms import DEPARTMENT_FIELDS, validate_form
from .models import Department, Escalation, Petition, RoutingRule
from .scripts import iso, parse_time
from .tokens import hash_token, petitioner_pseudonym
from .statuses import FINAL_STATUSES, PUBLIC_STATUS, PetitionStatus, check_transition

PROCESS_KEY = "petition"
# Built once: submitting and completing tasks ask them every time.
TRACKING_NO_TAKEN = select(Petition.id).where(Petition.tracking_no == bindparam("tracking_no"))
DEPARTMENTS_IN = select(Department.code).where(Department.code.in_(bindparam("codes", expanding=True)))
# Task data copied onto the petition row whenever the process changes the petition's status.
SYNCED_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "department": ("department_code", str),
    "sign_due": ("sign_due_at", parse_time),
    "handle_due": ("due_at", parse_time),
    "reject_reason": ("reject_reason", str),
    "reply": ("reply", str),
    "rating": ("rating", int),
    "solved": ("solved", bool),
    "reopen_count": ("reopen_count", int),
    "extension_used": ("extension_days", int),
    "emergency": ("emergency", bool),
}


def citizen_address(petition: Petition) -> str:
    """Where the citizen's notifications go: their phone, else their e-mail, else the tracking
    number (a citizen without contacts reads them on the tracking page)."""
    return petition.contact_phone or petition.contact_email or petition.tracking_no


@dataclass(frozen=True)
class Submission:
    """What a citizen (or staff on their behalf) submits; validated by the caller's schema."""

    type: str
    title: str
    body: str
    urgency: str = "normal"
    channel: str = "web"
    location: str | None = None
    category: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    emergency_hint: str = "none"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Submitted:
    petition: Petition
    access_token: str  # shown to the citizen once; only its hash is stored


@dataclass(frozen=True)
class PreparedCompletion:
    """A task's completion validated and run ahead of its write transaction
    (`Petitions.prepare_completion`), for `data` as given."""

    task_id: str
    data: dict[str, Any]
    step: PreparedStep


@dataclass(frozen=True)
class PreparedSubmission:
    """A submission's process start run ahead of its write transaction (`Petitions.prepare`),
    under the tracking number drawn for it."""

    submission: Submission
    tracking_no: str
    now: datetime  # when it was received
    start: PreparedStart


def petition_of_step(session: Session, report: StepReport) -> Petition | None:
    """The petition whose process took the step: None for a process without one, and for an
    instance that is not the petition's own though it has its tracking number as business key
    (a designer may start any process with any key; it must not move a real petition). Several
    step listeners ask; the lookup by tracking number is made once per transaction, and brings
    along in the same query what the listeners of a status change would each look up next: the
    petition's latest assignment facts and whether any duplicate follows it."""
    key = report.instance.business_key
    if key is None:
        return None
    known = _petitions_of_steps(session)
    if key not in known:
        row = session.execute(_step_petition_query(), {"tracking_no": key}).first()
        known[key] = None if row is None else _found(session, *row)
    petition = known[key]
    return petition if petition is not None and petition.instance_id in (None, report.instance.id) else None


@cache
def _step_petition_query() -> Select:
    """Built once: the statement is the same for every step."""
    follower = aliased(Petition)
    followed = exists().where(follower.merged_into_id == Petition.id)
    return (select(Petition, KpiAssignment, followed)
            .outerjoin(KpiAssignment, KpiAssignment.id == facts.latest_id(Petition.id))
            .where(Petition.tracking_no == bindparam("tracking_no")))


def _found(session: Session, petition: Petition, assignment: KpiAssignment | None, followed: bool) -> Petition:
    facts.remember_latest(session, petition.id, assignment)
    _followed(session)[petition.id] = followed
    return petition


def may_be_followed(session: Session, petition: Petition) -> bool:
    """Whether duplicates may follow `petition`: False only when `petition_of_step` found none
    in this transaction and no merge into it was made since."""
    return _followed(session).get(petition.id, True)


def now_followed(session: Session, petition_id: int) -> None:
    """A duplicate was merged into the petition in this transaction."""
    _followed(session)[petition_id] = True


def _petitions_of_steps(session: Session) -> dict[str, Petition | None]:
    return session.info.setdefault("petition_of_step", {})


def _followed(session: Session) -> dict[int, bool]:
    return session.info.setdefault("followed", {})


class Petitions:
    """The petition service: the one place that creates petitions and completes their tasks."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime], calendar: Callable[[], BusinessCalendar],
                 pseudonym_key: bytes | None = None):
        self.engine = engine
        self.clock = clock
        self.calendar = calendar  # evaluation facts count working days
        self.pseudonym_key = pseudonym_key  # without one, petitioners go uncounted in hotspots
        engine.add_step_listener(self.apply_effects)

    def prepare(self, session: Session, submission: Submission) -> PreparedSubmission:
        """Run a submission's process start on a plain read, before its write transaction, so
        that on SQLite the one writer is held only while `submit` saves it. The tracking number
        is drawn here and checked there."""
        now = self.clock()
        tracking_no = _draw_tracking_no(now)
        start = self.engine.prepare_start(session, PROCESS_KEY, self._start_data(session, submission, tracking_no, now))
        return PreparedSubmission(submission, tracking_no, now, start)

    def submit(self, session: Session, submission: Submission, actor: str | None = None,
               prepared: PreparedSubmission | None = None) -> Submitted:
        """Create the petition and start its process, in the caller's transaction; with
        `prepared` (from `prepare` with this submission), save the start it ran ahead, unless its
        tracking number was taken meanwhile."""
        if prepared is not None and (prepared.submission != submission or _taken(session, prepared.tracking_no)):
            prepared = None
        if prepared is None:
            now = self.clock()
            tracking_no = self._new_tracking_no(session, now)
            start_data = self._start_data(session, submission, tracking_no, now)
        else:
            tracking_no, start_data, now = prepared.tracking_no, prepared.start.data, prepared.now
        token = secrets.token_urlsafe(24)
        petition = Petition(
            tracking_no=tracking_no,
            access_token_hash=hash_token(token),
            status=PetitionStatus.RECEIVED,
            public_status=PUBLIC_STATUS[PetitionStatus.RECEIVED],
            created_at=now,
            updated_at=now,
            reopen_count=0,
            extension_days=0,
            **{k: v for k, v in vars(submission).items() if k not in ("emergency_hint", "extra")},
            extra=submission.extra or None,
            petitioner_ref=self._petitioner_ref(submission),
        )
        session.add(petition)
        session.flush()
        _petitions_of_steps(session)[tracking_no] = petition  # the listeners of its first step need not look
        instance = self.engine.start(session, PROCESS_KEY, start_data, actor or "citizen", business_key=tracking_no,
                                     prepared=prepared.start if prepared else None)
        petition.instance_id = instance.id
        return Submitted(petition, token)

    def _start_data(self, session: Session, submission: Submission, tracking_no: str, now: datetime) -> dict[str, Any]:
        """The process variables a petition starts with (docs/processes.md)."""
        return {
            "tracking_no": tracking_no,
            "type": submission.type,
            "urgency": submission.urgency,
            "title": submission.title,
            "body": submission.body,
            "channel": submission.channel,
            "received_at": iso(now),
            "emergency_hint": submission.emergency_hint,
            "suggested_department": self.suggest_department(session, submission.category) or "",
        }

    def complete_task(self, session: Session, task_id: str, data: dict[str, Any], actor: str, *,
                      prepared: PreparedCompletion | None = None, **kwargs: Any) -> ProcessInstance:
        """Validate `data` with the task's form, then complete it; with `prepared` (what
        `prepare_completion` ran ahead for this task and data) the data was validated there.
        Raises InvalidForm, UnknownTask and the engine's conflicts."""
        if prepared is not None and (prepared.task_id, prepared.data) == (task_id, data):
            ahead = prepared.step
            return self.engine.complete_task(session, task_id, ahead.step.data, actor, prepared=ahead, **kwargs)
        return self.engine.complete_task(session, task_id, self._valid_data(session, task_id, data), actor, **kwargs)

    def prepare_completion(self, session: Session, task_id: str, data: dict[str, Any], actor: str) -> PreparedCompletion | None:
        """Validate a completion's data and run it ahead of its write transaction
        (`Engine.prepare_completion`); None when it cannot run ahead. Raises InvalidForm, so that
        refused data is answered without waiting for the writer: a task's form never changes."""
        try:
            clean = self._valid_data(session, task_id, data)
        except UnknownTask:
            return None
        step = self.engine.prepare_completion(session, task_id, clean, actor)
        return None if step is None else PreparedCompletion(task_id, data, step)

    def _valid_data(self, session: Session, task_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """`data` as the task's form cleans it. Raises InvalidForm, UnknownTask."""
        task = session.get(HumanTask, task_id)
        if task is None:
            raise UnknownTask(task_id)
        clean = validate_form(task.form, data)
        self._check_departments(session, task.form, clean)
        return clean

    def find_for_citizen(self, session: Session, tracking_no: str, token: str) -> Petition:
        """The petition a citizen's token opens. Raises UnknownPetition for a wrong number or token alike."""
        petition = session.scalars(select(Petition).where(Petition.tracking_no == tracking_no)).first()
        if petition is None or not hmac.compare_digest(petition.access_token_hash, hash_token(token)):
            raise UnknownPetition(tracking_no)
        return petition

    @staticmethod
    def suggest_department(session: Session, category: str | None) -> str | None:
        if not category:
            return None
        rule = session.get(RoutingRule, category)
        return rule.department_code if rule else None

    # -- keeping the petition in step with its process ------------------------------------

    def apply_effects(self, session: Session, report: StepReport) -> None:
        """Engine step listener: apply what the step's scripts emitted to its petition."""
        if not report.effects:
            return
        petition = petition_of_step(session, report)
        if petition is None:
            return
        if report.action == "start":  # its own start (petition_of_step): at submission, or retried
            petition.instance_id = report.instance.id  # now: it goes out in the UPDATE of the first status
        for effect in report.effects:
            if effect.name == "status":
                self._change_status(session, petition, report, effect)
            elif effect.name == "escalation":
                self._escalate(session, petition, effect, report.at)
            elif effect.name == "notify":
                self._notify(session, petition, effect, report.at)
        petition.updated_at = report.at

    def _change_status(self, session: Session, petition: Petition, report: StepReport, effect: Effect) -> None:
        target = PetitionStatus(effect.values["status"])
        check_transition(petition.id, petition.status, target)
        data = effect.data
        for key, (column, convert) in SYNCED_FIELDS.items():
            value = data.get(key)
            if value not in (None, ""):
                setattr(petition, column, convert(value))
        if target is PetitionStatus.REPLIED:
            petition.replied_at = report.at
        if target in FINAL_STATUSES:
            petition.closed_at = report.at
        if target is not petition.status:
            report.events.append(audit.event(report.instance, "status_changed", report.at, report.actor,
                                             task_spec=effect.task_spec, data=self._change_details(petition, target, data)))
            facts.record_change(session, petition, target, effect.task_spec, report.at, self.calendar())
        petition.status, petition.public_status = target, PUBLIC_STATUS[target]

    @staticmethod
    def _change_details(petition: Petition, target: PetitionStatus, data: dict[str, Any]) -> dict[str, Any]:
        """What a status change records: from, to, the department it concerns, the deadlines in
        force and, for an information request, the question (the citizen's timeline and the
        evaluation facts are read from these)."""
        details: dict[str, Any] = {"from": petition.status.value, "to": target.value,
                                   "department": petition.department_code}
        if petition.due_at is not None:
            details["due"] = iso(petition.due_at)
        if target is PetitionStatus.SIGNING and petition.sign_due_at is not None:
            details["sign_due"] = iso(petition.sign_due_at)
        if target is PetitionStatus.AWAITING_INFO and data.get("info_request"):
            details["info_request"] = str(data["info_request"])
        return details

    @staticmethod
    def _escalate(session: Session, petition: Petition, effect: Effect, now: datetime) -> None:
        level = effect.values["level"]
        deadline = parse_time(effect.data["handle_due"]) if effect.data.get("handle_due") else petition.due_at
        exists = session.scalars(
            select(Escalation.id).where(
                Escalation.petition_id == petition.id, Escalation.level == level, Escalation.deadline == deadline
            )
        ).first()
        if exists is None:  # a rung reached again for the same deadline is not a new escalation
            session.add(Escalation(petition_id=petition.id, level=level, department_code=petition.department_code,
                                   deadline=deadline, created_at=now))
            facts.record_escalation(session, petition.id, level)

    @staticmethod
    def _notify(session: Session, petition: Petition, effect: Effect, now: datetime) -> None:
        recipient = effect.values["recipient"]
        if recipient == "citizen":
            channel, address = "citizen", citizen_address(petition)
        elif recipient == petition.department_code or session.get(Department, recipient) is not None:
            channel, address = "department", recipient
        else:
            channel, address = "role", recipient
        enqueue(session, channel, address, effect.values["subject"], effect.values["body"],
                {"tracking_no": petition.tracking_no, "petition_id": petition.id}, now=now)

    # -- helpers ----------------------------------------------------------------------------

    def _petitioner_ref(self, submission: Submission) -> str | None:
        if self.pseudonym_key is None:
            return None
        return petitioner_pseudonym(submission.contact_phone, submission.contact_email, self.pseudonym_key)

    @staticmethod
    def _check_departments(session: Session, form: str | None, data: dict[str, Any]) -> None:
        """Every department a form names must exist: looked up in one query for all fields."""
        named: dict[str, list[str]] = {}
        for name in DEPARTMENT_FIELDS.get(form or "", ()):
            value = data.get(name)
            named[name] = value if isinstance(value, list) else [value] if value else []
        every = {code for codes in named.values() for code in codes}
        known = set(session.scalars(DEPARTMENTS_IN, {"codes": list(every)})) if every else set()
        errors = {}
        for name, codes in named.items():
            unknown = [code for code in codes if code not in known]
            if unknown:
                errors[name] = [f"unknown department: {', '.join(unknown)}"]
        if errors:
            raise InvalidForm(form or "", errors)

    @staticmethod
    def _new_tracking_no(session: Session, now: datetime) -> str:
        """Drawn again on the rare collision."""
        while True:
            candidate = _draw_tracking_no(now)
            if not _taken(session, candidate):
                return candidate


def _draw_tracking_no(now: datetime) -> str:
    """MY + date + 6 random digits."""
    return f"MY{now:%Y%m%d}{secrets.randbelow(10**6):06d}"


def _taken(session: Session, tracking_no: str) -> bool:
    return session.scalars(TRACKING_NO_TAKEN, {"tracking_no": tracking_no}).first() is not None
