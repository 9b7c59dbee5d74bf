"""Merging a duplicate petition into its original, and the duplicate following the original.

Merging ends the duplicate's own process (its tasks are cancelled and its timers dropped, as
`Engine.terminate` does) and leaves it in the final status `merged`, pointing at the original.
From then on it shows the original's public status and published reply, and its citizen is
notified, through the same outbox as every citizen notification, when the original is replied
to or closed. Petitions merged into the duplicate before move to the original, so nothing
follows a merged petition.

A dispatcher merges petitions still waiting for triage; a supervisor or an administrator
merges at any open stage. Both instances are locked (in id order, as steps lock them) before
the statuses are checked, so a merge racing a triage decision or another merge of the same
petition either wins or gets a conflict.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import ConflictError, Engine, ProcessInstance, StepReport, audit
from engine.outbox import enqueue
from engine.store import lock_instance

from .errors import InvalidForm, PetitionError, UnknownPetition
from .models import Petition
from .petitions import citizen_address, may_be_followed, now_followed, petition_of_step
from .statuses import FINAL_STATUSES, PetitionStatus, PublicStatus, check_transition
from .text.duplicates import forget
from .tracking import published_reply

BEFORE_TRIAGE = frozenset({PetitionStatus.RECEIVED, PetitionStatus.TRIAGE, PetitionStatus.RETURNED})
# What a duplicate's citizen is told when the original reaches a public status.
OUTCOME_NOTICES = {
    PublicStatus.REPLIED: "您的诉求已合并办理并答复",
    PublicStatus.CLOSED: "您的诉求已合并办理并办结",
}
MERGED_NOTICE = ("您的诉求已与相同诉求合并办理", "您反映的问题与他人已反映的同一问题合并办理，办理结果将同步告知您。")


class NotMergeable(PetitionError, ConflictError):
    """The duplicate or the original is not in a state that allows the merge."""

    def __init__(self, petition_id: int, reason: str):
        self.petition_id, self.reason = petition_id, reason
        super().__init__(f"petition {petition_id} cannot be merged: {reason}")


class Merging:
    """The merge operation, and the step listener that makes duplicates follow their original."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]):
        self.engine = engine
        self.clock = clock
        engine.add_step_listener(self.follow)

    def merge(self, session: Session, duplicate_id: int, original_id: int, actor: str, *,
              after_triage: bool) -> Petition:
        """Merge petition `duplicate_id` into `original_id`; `after_triage` allows a duplicate
        already dispatched. Raises UnknownPetition, InvalidForm (no such original, or itself),
        NotMergeable."""
        if duplicate_id == original_id:
            raise InvalidForm("merge", {"into": ["a petition cannot be merged into itself"]})
        duplicate = session.get(Petition, duplicate_id)
        if duplicate is None:
            raise UnknownPetition(duplicate_id)
        original = session.get(Petition, original_id)
        if original is None:
            raise InvalidForm("merge", {"into": [f"no petition {original_id}"]})
        self._lock(session, duplicate, original)
        self._check(duplicate, original, after_triage)
        now = self.clock()
        self.engine.terminate(session, duplicate.instance_id, actor, f"merged into {original.tracking_no}")
        self._record(session, duplicate, original, actor, now)
        check_transition(duplicate.id, duplicate.status, PetitionStatus.MERGED)
        duplicate.status, duplicate.merged_into_id, duplicate.updated_at = PetitionStatus.MERGED, original.id, now
        _copy_outcome(original, duplicate)
        session.execute(update(Petition).where(Petition.merged_into_id == duplicate.id)
                        .values(merged_into_id=original.id).execution_options(synchronize_session=False))
        now_followed(session, original.id)
        forget(session, duplicate.id)
        enqueue(session, "citizen", citizen_address(duplicate), *MERGED_NOTICE,
                {"tracking_no": duplicate.tracking_no, "petition_id": duplicate.id}, now=now)
        return duplicate

    @staticmethod
    def _lock(session: Session, *petitions: Petition) -> None:
        """Lock the petitions' instances in id order, then read the petitions as committed."""
        for instance_id in sorted(p.instance_id for p in petitions if p.instance_id is not None):
            lock_instance(session, instance_id)
        for petition in petitions:
            session.refresh(petition)

    @staticmethod
    def _check(duplicate: Petition, original: Petition, after_triage: bool) -> None:
        if duplicate.status in FINAL_STATUSES or duplicate.instance_id is None:
            raise NotMergeable(duplicate.id, f"it is {duplicate.status.value}")
        if duplicate.status not in BEFORE_TRIAGE and not after_triage:
            raise NotMergeable(duplicate.id, f"it is past triage ({duplicate.status.value}): a supervisor may merge it")
        if original.status in FINAL_STATUSES:
            raise NotMergeable(duplicate.id, f"petition {original.id} is {original.status.value}")

    @staticmethod
    def _record(session: Session, duplicate: Petition, original: Petition, actor: str, now: datetime) -> None:
        """Audit both petitions; the duplicate's status change is what its citizen's timeline shows."""
        instance = session.get(ProcessInstance, duplicate.instance_id)
        audit.record(session, instance, "status_changed", now, actor, data={
            "from": duplicate.status.value, "to": PetitionStatus.MERGED.value, "department": duplicate.department_code})
        audit.record(session, instance, "merged", now, actor, data={"into": original.id, "tracking_no": original.tracking_no})
        if original.instance_id is not None:
            audit.record(session, session.get(ProcessInstance, original.instance_id), "duplicate_merged", now,
                         actor, data={"duplicate": duplicate.id, "tracking_no": duplicate.tracking_no})

    def follow(self, session: Session, report: StepReport) -> None:
        """Engine step listener: after a status change of a petition, its duplicates show its
        public status and reply, and their citizens hear of a reply or closure."""
        if report.action == "start" or not any(e.name == "status" for e in report.effects):
            return  # (nothing is merged into a petition that is only starting)
        original = petition_of_step(session, report)
        if original is None or not may_be_followed(session, original):
            return
        for duplicate in session.scalars(select(Petition).where(Petition.merged_into_id == original.id)):
            before = duplicate.public_status
            _copy_outcome(original, duplicate)
            duplicate.updated_at = report.at
            if duplicate.public_status is not before and duplicate.public_status in OUTCOME_NOTICES:
                enqueue(session, "citizen", citizen_address(duplicate), OUTCOME_NOTICES[duplicate.public_status],
                        published_reply(duplicate) or "", {"tracking_no": duplicate.tracking_no, "petition_id": duplicate.id},
                        now=report.at)


def _copy_outcome(original: Petition, duplicate: Petition) -> None:
    """The duplicate shows the original's public status and, once published, its reply."""
    duplicate.public_status = original.public_status
    reply = published_reply(original)
    duplicate.reply, duplicate.replied_at = (reply, original.replied_at) if reply is not None else (None, None)
    if original.public_status is PublicStatus.CLOSED:
        duplicate.closed_at = original.closed_at
