"""Settings from the environment (``WORKFLOW_*``) with defaults that work on a fresh machine."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WORKFLOW_", extra="ignore")

    database_url: str = Field(default="sqlite:///var/workflow.db",
                              description="SQLAlchemy URL; a relative SQLite path is under the working folder")
    sqlite_synchronous: Literal["FULL", "NORMAL", "EXTRA"] = "FULL"
    busy_timeout_ms: int = Field(default=30_000, ge=0)
