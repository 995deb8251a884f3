"""The composition root: settings → database engine → store → workflow engine, built once per command."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine as SqlEngine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from definitions import StoreUnavailable, WorkflowError
from scheduler.outbox import DeliverySettings
from scheduler.ticker import Periodic, Ticker
from store import SqlStore, migrate, open_engine, schema_revision
from store.files import FileStore
from workflow import Clock, Deadlines, Engine, SystemClock

from .app import UseCases
from .app.attachments import Cleaning
from .checkpoints import Checkpoints
from .settings import Settings
from .writer import Writer


class NotInitialised(WorkflowError):
    def __init__(self, url: str) -> None:
        super().__init__(f"the database {url} has no schema yet; run `workflow init` first")


class DatabaseUrlInvalid(WorkflowError):
    def __init__(self, url: str) -> None:
        super().__init__(f"{url!r} is not a database URL; write sqlite:///path/to/workflow.db (a file) or "
                         "postgresql+psycopg://user@host/dbname")


class ServeRefused(WorkflowError):
    """``workflow serve`` cannot start: its port is taken, or another serve holds the same SQLite file."""


def unreachable(url: str, err: Exception) -> StoreUnavailable:
    """The driver's own first line (connection refused, no such database, ...), not SQLAlchemy's wrapping."""
    reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
    return StoreUnavailable(f"cannot open the database {url}: {reason}")


@dataclass
class App:
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)

    @cached_property
    def sql_engine(self) -> SqlEngine:
        try:
            make_url(self.settings.database_url)
        except ArgumentError:
            raise DatabaseUrlInvalid(self.settings.database_url) from None
        return open_engine(self.settings.database_url, synchronous=self.settings.sqlite_synchronous,
                           busy_timeout_ms=self.settings.busy_timeout_ms, create=False)

    def sqlite_file(self) -> Path | None:
        """The SQLite database file (None for PostgreSQL or an in-memory database)."""
        url = make_url(self.settings.database_url)
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return None
        return Path(url.database)

    def files_folder(self) -> Path:
        """Where attached files live: ``WORKFLOW_FILES_FOLDER``, else ``<database>.files`` beside the SQLite file,
        else ``files`` in the working folder (PostgreSQL: set it to a folder every node shares)."""
        if self.settings.files_folder is not None:
            return self.settings.files_folder
        database = self.sqlite_file()
        return database.with_name(database.name + ".files") if database is not None else Path.cwd() / "files"

    @cached_property
    def files(self) -> FileStore:
        """The attached files, content-addressed in ``files_folder()``."""
        return FileStore(self.files_folder())

    @cached_property
    def store(self) -> SqlStore:
        """The store of an initialised database. A SQLite file that does not exist is not created (a mistyped
        path must not leave an empty database behind); an unreachable server is ``StoreUnavailable``."""
        engine = self.sql_engine
        file = self.sqlite_file()
        if file is not None and not file.exists():
            raise NotInitialised(self.settings.database_url)
        try:
            revision = schema_revision(engine)
        except SQLAlchemyError as err:
            raise unreachable(self.settings.database_url, err) from None
        if revision is None:
            raise NotInitialised(self.settings.database_url)
        return SqlStore(engine, self.clock)

    @cached_property
    def engine(self) -> Engine:
        return Engine(self.store, self.clock, standing_body=self.settings.standing_body)

    @cached_property
    def writer(self) -> Writer:
        """The process's writer thread for the API's writes (``service/writer.py``)."""
        return Writer(self.store)

    @cached_property
    def deadlines(self) -> Deadlines:
        return Deadlines(self.engine)

    @cached_property
    def uses(self) -> UseCases:
        """The application layer over this root: what the CLI, the API and the pages call."""
        return UseCases(self)

    def ticker(self, deliver: bool = True) -> Ticker:
        """The background pass; it also removes files never attached (daily) and, with ``WORKFLOW_CHECKPOINT_FOLDER``
        set, writes the audit checkpoints."""
        checkpoints = Checkpoints.from_settings(self.store, self.clock, self.settings)
        periodic: list[Periodic] = [Cleaning(self.uses.attachments)]  # files never attached, removed once a day
        if checkpoints is not None:
            periodic.append(checkpoints)
        return Ticker(self.engine, self.store, delivery_settings(self.settings), claimer=self.settings.node_name,
                      batch=self.settings.timer_batch, deliver=deliver, periodic=periodic)

    def init(self) -> str | None:
        """Create (the SQLite file and its folder too) or upgrade the schema; the revision it is at."""
        engine = self.sql_engine
        file = self.sqlite_file()
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
        try:
            migrate(engine)
        except SQLAlchemyError as err:
            raise unreachable(self.settings.database_url, err) from None
        return schema_revision(self.sql_engine)


def delivery_settings(settings: Settings) -> DeliverySettings:
    return DeliverySettings(
        smtp_host=settings.smtp_host, smtp_port=settings.smtp_port, smtp_sender=settings.smtp_sender,
        smtp_user=settings.smtp_user, smtp_password=settings.smtp_password, smtp_starttls=settings.smtp_starttls,
        webhook_networks=tuple(n.strip() for n in settings.webhook_networks.split(",") if n.strip()),
        max_attempts=settings.notify_max_attempts, backoff_s=settings.notify_backoff_s,
        lease_s=settings.notify_lease_s)
