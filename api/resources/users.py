"""`/api/v1/users`: staff accounts, their roles and departments (administrators only)."""

from __future__ import annotations

from flask.views import MethodView

from workflows.staff import UNSET, Role, create_staff, staff_query, update_staff

from ..docs import Blueprint, ID, problems, staff_only
from ..extensions import services
from ..pagination import paginate
from ..schemas.users import (
    CreatedUserSchema,
    NewUserSchema,
    UserArgs,
    UserChangeSchema,
    UserPageSchema,
    UserSchema,
)

blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="Staff accounts (administrators)")


@blp.route("")
class Users(MethodView):
    @staff_only(blp, Role.ADMIN)
    @blp.arguments(NewUserSchema)
    @blp.response(201, CreatedUserSchema)
    @problems(blp, 409, 422)
    def post(self, new):
        """Create an account; the response carries its API token, which is never shown again."""
        svc = services()
        with svc.db.write() as session:
            return create_staff(session, new["name"], new["role"], new["department"], svc.engine.clock())

    @staff_only(blp, Role.ADMIN)
    @blp.arguments(UserArgs, location="query")
    @blp.response(200, UserPageSchema)
    def get(self, args):
        """Accounts by name, filtered by role, department and whether active."""
        query = staff_query(args.get("role"), args.get("department"), args.get("active"))
        with services().db.read() as session:
            return paginate(session, query, args["page"], args["page_size"])


@blp.route(f"/<{ID}:user_id>")
class User(MethodView):
    @staff_only(blp, Role.ADMIN)
    @blp.arguments(UserChangeSchema)
    @blp.response(200, UserSchema)
    @problems(blp, 404, 409, 422)
    def patch(self, change, user_id: int):
        """Change an account's role, department or activity; deactivating revokes its token at once."""
        with services().db.write() as session:
            return update_staff(session, user_id, role=change.get("role"),
                                department_code=change.get("department", UNSET), active=change.get("active"))
