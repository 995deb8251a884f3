"""Alembic environment: runs migrations on the engine the caller hands over (``store.database.migrate``)."""

from __future__ import annotations

from alembic import context

from store.tables import metadata

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
