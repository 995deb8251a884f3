"""A throwaway PostgreSQL server for the tests: ``initdb``/``pg_ctl`` in a temporary folder on a free
loopback port (as the ``postgres`` user when the tests run as root), or the server at WORKFLOW_TEST_PG_URL.
Each test gets a database of its own."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field

import psycopg

_names = itertools.count(1)


def binaries() -> bool:
    return bool(shutil.which("initdb") and shutil.which("pg_ctl"))


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class PgServer:
    base_url: str  # psycopg conninfo of the maintenance database, as postgresql://...
    folder: str | None = None
    data: str | None = None
    created: list[str] = field(default_factory=list)

    @classmethod
    def start(cls) -> PgServer:
        existing = os.environ.get("WORKFLOW_TEST_PG_URL")
        if existing:
            return cls(existing.replace("postgresql+psycopg://", "postgresql://"))
        folder = tempfile.mkdtemp(prefix="workflow-pg-")
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres")
        data = os.path.join(folder, "data")
        subprocess.run(_as_owner(["initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]),
                       check=True, capture_output=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
        subprocess.run(_as_owner(["pg_ctl", "-D", data, "-l", os.path.join(folder, "server.log"), "-w", "-o",
                                  options, "start"]), check=True, capture_output=True)
        return cls(f"postgresql://postgres@127.0.0.1:{port}/postgres", folder, data)

    def new_database(self) -> str:
        """A fresh, empty database; its SQLAlchemy URL."""
        name = f"t{os.getpid()}_{next(_names)}"
        with psycopg.connect(self.base_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
        self.created.append(name)
        host = self.base_url.split("://", 1)[1].rsplit("/", 1)[0]
        return f"postgresql+psycopg://{host}/{name}"

    def restart(self) -> None:
        """Stop the server (fast: every open connection is dropped) and start it again, same options."""
        if self.data is None or self.folder is None:
            raise RuntimeError("an external server (WORKFLOW_TEST_PG_URL) is not restarted by the tests")
        subprocess.run(_as_owner(["pg_ctl", "-D", self.data, "-l", os.path.join(self.folder, "server.log"), "-m",
                                  "fast", "-w", "-t", "300", "restart"]), check=True, capture_output=True)

    def stop(self) -> None:
        if self.data is not None:
            subprocess.run(_as_owner(["pg_ctl", "-D", self.data, "-m", "immediate", "stop"]), capture_output=True,
                           check=False)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
