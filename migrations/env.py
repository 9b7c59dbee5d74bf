"""Alembic environment: migrations run on the connection handed over in `config.attributes`."""

from alembic import context

import engine.models  # noqa: F401  (registers the tables on the metadata)
import workflows.models  # noqa: F401
import workflows.staff  # noqa: F401
import workflows.evaluation.models  # noqa: F401
import workflows.evaluation.tables  # noqa: F401
import workflows.text.models  # noqa: F401
import workflows.text.router_models  # noqa: F401
from engine.db import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `minyi db upgrade` (migrations.upgrade)")
context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
