"""Process designers over HTTP: uploading good, bad and hostile definitions, versions and files."""

from __future__ import annotations

import io

import pytest

from tests.conftest import ENGINE_DATA
from tests.engine.test_deploy import BAD_FILES

LANES = (ENGINE_DATA / "lanes_loop.bpmn").read_bytes()
PARALLEL = (ENGINE_DATA / "parallel.bpmn").read_bytes()


def upload(client, headers, *files: tuple[str, bytes]):
    data = {"files": [(io.BytesIO(content), name) for name, content in files]}
    return client.post("/api/v1/processes", data=data, headers=headers, content_type="multipart/form-data")


@pytest.fixture
def designer(as_staff):
    return as_staff("designer")


def test_upload_versions_and_files(client, designer):
    first = upload(client, designer, ("lanes_loop.bpmn", LANES), ("parallel.bpmn", PARALLEL))
    assert first.status_code == 201, first.get_json()
    assert {(d["process_key"], d["version"], d["created"]) for d in first.get_json()} == {
        ("review_loop", 1, True), ("parallel_review", 1, True)}
    again = upload(client, designer, ("lanes_loop.bpmn", LANES))
    assert again.get_json() == [{"process_key": "review_loop", "version": 1, "created": False}]
    changed = LANES.replace(b'name="Review request"', b'name="Review the request"')
    assert upload(client, designer, ("lanes_loop.bpmn", changed)).get_json()[0]["version"] == 2

    latest = {p["process_key"]: p for p in client.get("/api/v1/processes?page_size=100", headers=designer).get_json()["items"]}
    assert latest["review_loop"]["version"] == 2 and latest["review_loop"]["files"] == ["lanes_loop.bpmn"]
    assert latest["review_loop"]["deployed_by"] == "designer-all"
    assert latest["parallel_review"]["version"] == 1

    versions = client.get("/api/v1/processes/review_loop/versions", headers=designer).get_json()
    assert versions["total"] == 2 and [v["version"] for v in versions["items"]] == [2, 1]

    old = client.get("/api/v1/processes/review_loop/versions/1/files/lanes_loop.bpmn", headers=designer)
    assert old.status_code == 200 and old.mimetype == "application/xml"
    assert old.data == LANES, "each version keeps the file it was deployed with"
    new = client.get("/api/v1/processes/review_loop/versions/2/files/lanes_loop.bpmn", headers=designer)
    assert new.data == changed and new.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("url", [
    "/api/v1/processes/nope/versions",
    "/api/v1/processes/review_loop/versions/9/files/lanes_loop.bpmn",
    "/api/v1/processes/review_loop/versions/1/files/other.bpmn",
])
def test_unknown_process_version_or_file_is_404(client, designer, url):
    upload(client, designer, ("lanes_loop.bpmn", LANES))
    response = client.get(url, headers=designer)
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def versions_of(client, headers, key: str) -> int:
    response = client.get(f"/api/v1/processes/{key}/versions", headers=headers)
    return 0 if response.status_code == 404 else response.get_json()["total"]


@pytest.mark.parametrize("case", [c for c in BAD_FILES if c != "50 MB"])
def test_bad_and_hostile_files_are_refused_and_nothing_is_deployed(client, designer, case):
    content, expected = BAD_FILES[case]
    response = upload(client, designer, ("good.bpmn", PARALLEL), ("bad.bpmn", content))
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    body = response.get_json()
    assert set(body["errors"]) == {"bad.bpmn"}, body
    assert any(expected in message for message in body["errors"]["bad.bpmn"])
    assert versions_of(client, designer, "parallel_review") == 0, "not even the good file is deployed"


def test_validation_errors_name_line_and_element(client, designer):
    broken = LANES.replace(b'<bpmn:userTask id="review"', b'<bpmn:userTask foo="bar" id="review"', 1)
    response = upload(client, designer, ("review.bpmn", broken))
    assert response.status_code == 422
    [message] = response.get_json()["errors"]["review.bpmn"]
    assert message.startswith("line ") and ", element review: " in message


def test_file_over_the_definition_limit_is_422(client, designer):
    big = b"<bpmn:definitions>" + b" " * (3 * 1024 * 1024) + b"</bpmn:definitions>"
    response = upload(client, designer, ("big.bpmn", big))
    assert response.status_code == 422 and "limit" in response.get_json()["errors"]["big.bpmn"][0]


def test_body_over_max_content_length_is_413(app, client, designer):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    response = upload(client, designer, ("big.bpmn", b"<x>" + b" " * (100 * 1024) + b"</x>"))
    assert response.status_code == 413 and response.mimetype == "application/problem+json"
    assert versions_of(client, designer, "parallel_review") == 0


@pytest.mark.parametrize("files", [[], [("notes.txt", b"hello")], [("../evil.bpmn", PARALLEL)],
                                   [("p" * 300 + ".bpmn", PARALLEL)]])
def test_upload_needs_bpmn_or_dmn_files(client, designer, files):
    response = upload(client, designer, *files)
    assert response.status_code == 422 and "files" in response.get_json()["errors"]


def test_deploy_is_recorded_with_the_designer(client, as_staff):
    admin = as_staff("admin")
    assert upload(client, admin, ("parallel.bpmn", PARALLEL)).status_code == 201
    item = client.get("/api/v1/processes/parallel_review/versions", headers=admin).get_json()["items"][0]
    assert item["deployed_by"] == "admin-all" and item["files"] == ["parallel.bpmn"]


def test_a_process_id_too_long_to_store_is_never_a_500(client, designer):
    """PostgreSQL refuses a 300-character process key (422); SQLite stores it."""
    response = upload(client, designer, ("long.bpmn", PARALLEL.replace(b"parallel_review", b"p" * 300)))
    assert response.status_code in (201, 422), response.get_json()
