"""Storage: SQLAlchemy tables, migrations, SQLite/PostgreSQL settings, and the engine's ``Store``."""

from .database import is_sqlite, migrate, open_engine, schema_revision
from .sql_store import SqlStore, SqlUnitOfWork

__all__ = ["SqlStore", "SqlUnitOfWork", "is_sqlite", "migrate", "open_engine", "schema_revision"]
