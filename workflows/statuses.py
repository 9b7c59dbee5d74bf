"""Petition statuses: every allowed change in one table, and the one check that enforces it.

Internal statuses follow the process closely; citizens see a coarser public status. The BPMN
sets statuses through the `set_status` script function, so a test reads every `set_status`
call out of the diagrams and checks it against this table. Historical petitions loaded from
files (`workflows.text.importer`) have no process: they are created `closed` and never move.
"""

from __future__ import annotations

import enum

from .errors import PetitionError

class PetitionStatus(str, enum.Enum):
    RECEIVED = "received"
    TRIAGE = "triage"
    REJECTED = "rejected"  # out of scope, with a reason
    DIVERTED = "diverted"  # emergency handed to 110/119/120
    SIGNING = "signing"  # dispatched, waiting for the department to sign for it
    RETURNED = "returned"  # the department returned it (退单) to the dispatcher
    HANDLING = "handling"
    AWAITING_INFO = "awaiting_info"  # clock paused until the citizen answers
    EXTENSION_REQUESTED = "extension_requested"
    REVIEWING = "reviewing"  # a supervisor reviews the reply (审核)
    REPLIED = "replied"
    ESCALATED = "escalated"  # dissatisfied after the last allowed reopen
    CLOSED = "closed"
    MERGED = "merged"  # a duplicate merged into another petition, whose outcome it follows


class PublicStatus(str, enum.Enum):
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    REPLIED = "replied"
    CLOSED = "closed"


S = PetitionStatus

# The process's own moves. FINAL_STATUSES are those with none.
_PROCESS_MOVES: dict[PetitionStatus, frozenset[PetitionStatus]] = {
    S.RECEIVED: frozenset({S.TRIAGE, S.DIVERTED}),
    S.TRIAGE: frozenset({S.REJECTED, S.SIGNING, S.HANDLING}),  # HANDLING: a return overruled
    S.SIGNING: frozenset({S.HANDLING, S.RETURNED}),
    S.RETURNED: frozenset({S.TRIAGE}),
    S.HANDLING: frozenset({S.SIGNING, S.REVIEWING, S.AWAITING_INFO, S.EXTENSION_REQUESTED}),  # SIGNING: transfer
    S.AWAITING_INFO: frozenset({S.HANDLING, S.CLOSED}),  # CLOSED: no answer within the window
    S.EXTENSION_REQUESTED: frozenset({S.HANDLING}),
    S.REVIEWING: frozenset({S.HANDLING, S.REPLIED}),
    S.REPLIED: frozenset({S.CLOSED, S.HANDLING, S.ESCALATED}),  # HANDLING: reopened (重办)
    S.ESCALATED: frozenset({S.CLOSED}),
    S.REJECTED: frozenset(),
    S.DIVERTED: frozenset(),
    S.CLOSED: frozenset(),
    S.MERGED: frozenset(),
}
# Besides, every open status may go to MERGED (workflows.merge: before triage by a dispatcher,
# later only by a supervisor or an administrator).
TRANSITIONS: dict[PetitionStatus, frozenset[PetitionStatus]] = {
    status: targets | {S.MERGED} if targets else targets for status, targets in _PROCESS_MOVES.items()}

PUBLIC_STATUS: dict[PetitionStatus, PublicStatus] = {
    S.RECEIVED: PublicStatus.RECEIVED,
    S.TRIAGE: PublicStatus.RECEIVED,
    S.RETURNED: PublicStatus.RECEIVED,
    S.SIGNING: PublicStatus.IN_PROGRESS,
    S.HANDLING: PublicStatus.IN_PROGRESS,
    S.AWAITING_INFO: PublicStatus.IN_PROGRESS,
    S.EXTENSION_REQUESTED: PublicStatus.IN_PROGRESS,
    S.REVIEWING: PublicStatus.IN_PROGRESS,
    S.REPLIED: PublicStatus.REPLIED,
    S.ESCALATED: PublicStatus.REPLIED,
    S.REJECTED: PublicStatus.CLOSED,
    S.DIVERTED: PublicStatus.CLOSED,
    S.CLOSED: PublicStatus.CLOSED,
    S.MERGED: PublicStatus.RECEIVED,  # at first; then whatever its original's public status is
}

FINAL_STATUSES = frozenset(s for s, targets in TRANSITIONS.items() if not targets)


class UnknownStatus(PetitionError):
    def __init__(self, name: str):
        self.name = name
        super().__init__(f"{name!r} is not a petition status; known: {', '.join(s.value for s in S)}")


class IllegalTransition(PetitionError):
    def __init__(self, petition_id: int | None, current: PetitionStatus, target: PetitionStatus):
        self.petition_id, self.current, self.target = petition_id, current, target
        super().__init__(f"petition {petition_id} cannot go from {current.value} to {target.value}")


def parse_status(name: str) -> PetitionStatus:
    """The status called `name`. Raises UnknownStatus."""
    try:
        return PetitionStatus(name)
    except ValueError:
        raise UnknownStatus(name) from None


def check_transition(petition_id: int | None, current: PetitionStatus, target: PetitionStatus) -> None:
    """Allow staying put and every change in TRANSITIONS. Raises IllegalTransition."""
    if target is not current and target not in TRANSITIONS[current]:
        raise IllegalTransition(petition_id, current, target)
