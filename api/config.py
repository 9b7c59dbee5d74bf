"""Configuration: safe defaults for the embedded mode, overridden by MINYI_* environment variables.

Every setting can be given as an environment variable with the prefix `MINYI_`
(e.g. `MINYI_DATABASE_URL`, `MINYI_SCHEDULER_ENABLED=false`); values are parsed as JSON
when they can be, so numbers and booleans work as expected.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask

from .rate_limits import IN_PROCESS

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # default: SQLite file under the instance folder
    "TIMEZONE": "Asia/Shanghai",
    "SCHEDULER_ENABLED": True,  # run the timer sweep inside `minyi serve`
    "SCHEDULER_INTERVAL_SECONDS": 1.0,
    "SCRIPT_TIME_LIMIT_SECONDS": 1.0,
    "MAX_DEFINITION_BYTES": 2 * 1024 * 1024,
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    "SECRET_KEY": None,  # default: generated once and kept in the instance folder
    "SUBMISSION_RATE_LIMIT": "20 per minute",  # citizens' submissions per client address
    "RATELIMIT_HEADERS_ENABLED": True,
    "RATELIMIT_STORAGE_URI": IN_PROCESS,  # counts per worker; redis://... shares them (api/rate_limits.py)
    "KPI_MIN_SAMPLE": 10,  # below this many in a rate's denominator the rate shows "insufficient data"
    "DUPLICATE_THRESHOLD": 0.3,  # similarity from which an open petition is shown as a near-duplicate
    "DUPLICATE_WINDOW_DAYS": 90,  # only petitions received this recently are near-duplicate candidates
    "REPORT_ISSUER": "市人民政府办公室",  # the issuing body printed on the quarterly circular
    "REPORT_WEIGHTS": {},  # ranking weights overriding the defaults, e.g. {"satisfaction": 30} (docs/evaluation.md)
    "REPORT_MIN_COVERAGE": 0.5,  # share of the weight a department needs data for to be ranked
    "ROUTER_MIN_CONFIDENCE": 0.5,  # the triage suggestion's least confidence (workflows/text/suggestions.py)
}


def configure(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    """Fill `app.config`: defaults, then MINYI_* environment variables, then `overrides`."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("MINYI")
    if overrides:
        app.config.from_mapping(overrides)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = "sqlite:///" + os.path.join(app.instance_path, "minyi.sqlite3")
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)


def _instance_secret(instance_path: str) -> str:
    """A random secret created on first start and kept (mode 0600) beside the SQLite file."""
    os.makedirs(instance_path, exist_ok=True)
    path = os.path.join(instance_path, "secret_key")
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read().strip()
    except FileNotFoundError:
        value = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(value)
        return value
