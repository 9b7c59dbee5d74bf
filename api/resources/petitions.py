"""`/api/v1/petitions`: citizens submit and follow their petitions; staff list and open them.

A citizen reaches a petition with its tracking number and the access token returned once at
submission; a wrong number and a wrong token get the same 404. Staff lists mask contact
details; a handler sees only its own department's petitions.
"""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from engine.db import utcnow
from workflows.access import sees_contacts
from workflows.errors import UnknownPetition
from workflows.models import Petition
from workflows.petitions import Submission
from workflows.queries import (
    MaskedPetition,
    PetitionFilter,
    events_query,
    petitions_page,
)
from workflows.staff import Role
from workflows.tracking import INFO_TASK, RATE_TASK, answer, public_view

from ..auth import current_staff, department_scope, ensure_in_scope
from ..docs import Blueprint, ID, problems, staff_only
from ..extensions import services
from ..rate_limits import limiter
from ..pagination import PageArgs, paginate
from ..schemas.petitions import (
    AccessTokenSchema,
    EventPageSchema,
    FeedbackSchema,
    InformationSchema,
    PetitionArgs,
    PetitionPageSchema,
    PetitionSchema,
    PetitionSubmissionSchema,
    PublicPetitionSchema,
    SubmittedSchema,
)

blp = Blueprint("petitions", __name__, url_prefix="/api/v1/petitions",
                description="Petitions: citizens submit and follow them, staff list and open them")
READERS = (Role.DISPATCHER, Role.HANDLER, Role.SUPERVISOR, Role.ADMIN, Role.EVALUATOR)


def submission_limit() -> str:
    return current_app.config["SUBMISSION_RATE_LIMIT"]


@blp.route("")
class Petitions(MethodView):
    @limiter.limit(submission_limit)
    @blp.arguments(PetitionSubmissionSchema)
    @blp.response(201, SubmittedSchema)
    @problems(blp, 422, 429)
    def post(self, submission: dict):
        """Submit a petition (no account needed): keep the access token, it is shown only once.

        Limited per client address (429 beyond the limit).
        """
        submitted = services().domain.submit(Submission(**submission))
        petition = submitted.petition
        return {"tracking_no": petition.tracking_no, "access_token": submitted.access_token,
                "status": petition.public_status, "due_at": petition.due_at, "emergency": petition.emergency}

    @staff_only(blp, *READERS)
    @blp.arguments(PetitionArgs, location="query")
    @blp.response(200, PetitionPageSchema)
    def get(self, args: dict):
        """Petitions, newest first, contacts masked (a handler: their department's only).

        The total is exact up to 1,000; past that it is 1,000 with `total_exact` false.
        """
        scope = department_scope()
        filters = PetitionFilter(
            status=args.get("status"), public_status=args.get("public_status"), type=args.get("type"),
            urgency=args.get("urgency"), department=scope if scope is not None else args.get("department"),
            overdue=args.get("overdue"), created_from=args.get("created_from"), created_to=args.get("created_to"),
            text=args.get("q"),
        )
        with services().db.read() as session:
            return petitions_page(session, filters, utcnow(), args["page"], args["page_size"])


def _citizens_petition(session, tracking_no: str, token: str) -> Petition:
    return services().domain.petitions.find_for_citizen(session, tracking_no, token)


@blp.route("/<tracking_no>")
class Tracking(MethodView):
    @blp.arguments(AccessTokenSchema, location="headers")
    @blp.response(200, PublicPetitionSchema)
    @problems(blp, 404, 422)
    def get(self, headers: dict, tracking_no: str):
        """Follow a petition: public status, timeline, the reply, and what waits for you."""
        with services().db.read() as session:
            return public_view(session, _citizens_petition(session, tracking_no, headers["access_token"]))


def _answer(tracking_no: str, token: str, task_spec: str, data: dict):
    """Complete the citizen's open `task_spec` task, then show the petition as it is now."""
    domain = services().domain
    with domain.db.write() as session:
        answer(session, domain.petitions, _citizens_petition(session, tracking_no, token), task_spec, data)
    with domain.db.read() as session:
        return public_view(session, _citizens_petition(session, tracking_no, token))


@blp.route("/<tracking_no>/feedback")
class Feedback(MethodView):
    @blp.arguments(AccessTokenSchema, location="headers")
    @blp.arguments(FeedbackSchema)
    @blp.response(200, PublicPetitionSchema)
    @problems(blp, 404, 409, 422)
    def post(self, headers: dict, feedback: dict, tracking_no: str):
        """Rate the reply (409 when there is no reply waiting for a rating)."""
        return _answer(tracking_no, headers["access_token"], RATE_TASK, feedback)


@blp.route("/<tracking_no>/information")
class Information(MethodView):
    @blp.arguments(AccessTokenSchema, location="headers")
    @blp.arguments(InformationSchema)
    @blp.response(200, PublicPetitionSchema)
    @problems(blp, 404, 409, 422)
    def post(self, headers: dict, information: dict, tracking_no: str):
        """Give the information the department asked for (409 when nothing was asked)."""
        return _answer(tracking_no, headers["access_token"], INFO_TASK, information)


def _staff_petition(session, petition_id: int) -> Petition:
    """The petition, if the caller may open it. Raises UnknownPetition (also for another department's)."""
    petition = session.get(Petition, petition_id)
    if petition is None:
        raise UnknownPetition(petition_id)
    ensure_in_scope(petition.department_code, lambda: UnknownPetition(petition_id))
    return petition


@blp.route(f"/<{ID}:petition_id>")
class PetitionRecord(MethodView):
    @staff_only(blp, *READERS)
    @blp.response(200, PetitionSchema)
    @problems(blp, 404)
    def get(self, petition_id: int):
        """The full record; contact details unmasked for those who work on petitions."""
        with services().db.read() as session:
            petition = _staff_petition(session, petition_id)
            return petition if sees_contacts(current_staff()) else MaskedPetition(petition)


@blp.route(f"/<{ID}:petition_id>/events")
class PetitionEvents(MethodView):
    @staff_only(blp, *READERS)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, EventPageSchema)
    @problems(blp, 404)
    def get(self, args: dict, petition_id: int):
        """The audit log of the petition's process, oldest first."""
        with services().db.read() as session:
            petition = _staff_petition(session, petition_id)
            return paginate(session, events_query(petition.instance_id), args["page"], args["page_size"])
