"""`/api/v1/petitions/{id}/duplicates` and `/merge`: near-duplicates found at intake, and merging
a duplicate into its original (workflows.merge: the duplicate's process ends and it follows
the original's outcome).

The triage task shows the same list (`triage_duplicates`). A handler sees only its own
department's petitions, in the list as everywhere.
"""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy.orm import Session

from workflows.queries import TaskEntry
from workflows.staff import Role
from workflows.text.duplicates import Duplicate, duplicates_of

from ..auth import current_staff, department_scope
from ..docs import Blueprint, ID, problems, staff_only
from ..extensions import services
from ..schemas.duplicates import DuplicateListSchema, MergeSchema
from ..schemas.petitions import PetitionSchema
from .petitions import READERS, _staff_petition

blp = Blueprint("duplicates", __name__, url_prefix="/api/v1/petitions",
                description="Near-duplicate petitions and merging them")
TRIAGE_TASK = "triage_petition"
MERGERS = (Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)
MERGE_AFTER_TRIAGE = frozenset({Role.SUPERVISOR, Role.ADMIN})


def triage_duplicates(session: Session, entry: TaskEntry) -> list[Duplicate]:
    """What the triage task shows of its petition's near-duplicates (nothing on other tasks)."""
    if entry.task.task_spec != TRIAGE_TASK or entry.petition is None:
        return []
    return duplicates_of(session, entry.petition.id, department_scope())


@blp.route(f"/<{ID}:petition_id>/duplicates")
class Duplicates(MethodView):
    @staff_only(blp, *READERS)
    @blp.response(200, DuplicateListSchema)
    @problems(blp, 404)
    def get(self, petition_id: int):
        """Open petitions found near-duplicate of this one at intake (a handler: their department's only)."""
        with services().db.read() as session:
            _staff_petition(session, petition_id)
            return {"items": duplicates_of(session, petition_id, department_scope())}


@blp.route(f"/<{ID}:petition_id>/merge")
class Merge(MethodView):
    @staff_only(blp, *MERGERS)
    @blp.arguments(MergeSchema)
    @blp.response(200, PetitionSchema)
    @problems(blp, 404, 409, 422)
    def post(self, merge: dict, petition_id: int):
        """Merge this petition into the original `into`: its process ends, it shows the original's
        status and reply, and its citizen is told (409 when either is closed or merged, or this
        one is past triage and the caller is a dispatcher)."""
        domain, staff = services().domain, current_staff()
        with domain.db.write() as session:
            return domain.merging.merge(session, petition_id, merge["into"], staff.name,
                                        after_triage=staff.role in MERGE_AFTER_TRIAGE)
