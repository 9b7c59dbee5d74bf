"""`/api/v1/processes`: deploying BPMN/DMN files, their versions and files, and starting an
instance of any deployed process so that designers can try a diagram."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView

from engine.inspection import (
    VersionSummary,
    inspect_instance,
    latest_versions,
    version_file,
    versions_query,
)
from workflows.staff import Role

from ..auth import current_staff
from ..docs import Blueprint, ID, problems, staff_only
from ..extensions import services
from ..pagination import PageArgs, paginate, paginate_list
from ..schemas.processes import (
    DefinitionUploadSchema,
    DeployedVersionSchema,
    InstanceSchema,
    StartInstanceSchema,
    VersionPageSchema,
)

blp = Blueprint("processes", __name__, url_prefix="/api/v1/processes", description="Process definitions (designers)")
DESIGNERS = (Role.DESIGNER, Role.ADMIN)


@blp.route("")
class Processes(MethodView):
    @staff_only(blp, *DESIGNERS)
    @blp.arguments(DefinitionUploadSchema, location="files")
    @blp.response(201, DeployedVersionSchema(many=True))
    @problems(blp, 413, 422)
    def post(self, upload):
        """Deploy .bpmn/.dmn files as new process versions.

        Every process the files change gets a new version; when any file is refused nothing is
        deployed and the 422 lists every problem by file, with line and element.
        """
        files = [(f.filename, f.read()) for f in upload["files"]]
        svc = services()
        with svc.db.write() as session:
            return svc.engine.definitions.deploy(session, files, actor=current_staff().name)

    @staff_only(blp, *DESIGNERS)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, VersionPageSchema)
    def get(self, args):
        """The newest version of every deployed process, by key."""
        svc = services()
        with svc.db.read() as session:
            return paginate_list(latest_versions(session, svc.engine), args["page"], args["page_size"])


@blp.route("/<key>/versions")
class Versions(MethodView):
    @staff_only(blp, *DESIGNERS)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, VersionPageSchema)
    @problems(blp, 404)
    def get(self, args, key: str):
        """Every version of a process, newest first."""
        with services().db.read() as session:
            page = paginate(session, versions_query(session, key), args["page"], args["page_size"])
            page["items"] = [VersionSummary.of(v) for v in page["items"]]
        return page


@blp.route(f"/<key>/versions/<{ID}:version>/files/<name>")
class VersionFile(MethodView):
    @staff_only(blp, *DESIGNERS)
    @blp.response(200, {"type": "string"}, content_type="application/xml", description="the file as it was deployed")
    @problems(blp, 404)
    def get(self, key: str, version: int, name: str):
        """One BPMN or DMN file of a version, e.g. to open it in a modeler."""
        svc = services()
        with svc.db.read() as session:
            stored = version_file(session, svc.engine, key, version, name)
        response = Response(stored.content, mimetype="application/xml")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response


@blp.route("/<key>/instances")
class Instances(MethodView):
    @staff_only(blp, *DESIGNERS)
    @blp.arguments(StartInstanceSchema)
    @blp.response(201, InstanceSchema)
    @problems(blp, 404, 422)
    def post(self, start, key: str):
        """Start an instance of a deployed process with the given data.

        A failing first step still creates it, in `error` with an incident, so that it can be
        inspected and retried.
        """
        svc = services()
        with svc.db.write() as session:
            instance = svc.engine.start(session, key, start["data"], current_staff().name,
                                        business_key=start.get("business_key"), version=start.get("version"))
        with svc.db.read() as session:
            return inspect_instance(session, svc.engine, instance.id)
