"""`/api/v1/departments`: the departments petitions are routed to."""

from __future__ import annotations

from flask.views import MethodView

from workflows.departments import (
    UNSET,
    create_department,
    departments_query,
    update_department,
)
from workflows.staff import Role

from ..docs import Blueprint, problems, staff_only
from ..extensions import services
from ..pagination import paginate
from ..schemas.departments import (
    DepartmentArgs,
    DepartmentChangeSchema,
    DepartmentPageSchema,
    DepartmentSchema,
)

blp = Blueprint("departments", __name__, url_prefix="/api/v1/departments", description="Departments")


@blp.route("")
class Departments(MethodView):
    @staff_only(blp)
    @blp.arguments(DepartmentArgs, location="query")
    @blp.response(200, DepartmentPageSchema)
    def get(self, args):
        """Departments by code (any staff member may list them)."""
        with services().db.read() as session:
            return paginate(session, departments_query(args.get("active")), args["page"], args["page_size"])

    @staff_only(blp, Role.ADMIN)
    @blp.arguments(DepartmentSchema)
    @blp.response(201, DepartmentSchema)
    @problems(blp, 409, 422)
    def post(self, new):
        """Add a department."""
        with services().db.write() as session:
            return create_department(session, new["code"], new["name"], new["parent_code"], new["active"])


@blp.route("/<code>")
class Department(MethodView):
    @staff_only(blp, Role.ADMIN)
    @blp.arguments(DepartmentChangeSchema)
    @blp.response(200, DepartmentSchema)
    @problems(blp, 404, 422)
    def patch(self, change, code: str):
        """Rename, move or (de)activate a department; departments are never deleted."""
        with services().db.write() as session:
            return update_department(session, code, name=change.get("name"),
                                     parent_code=change.get("parent_code", UNSET), active=change.get("active"))
