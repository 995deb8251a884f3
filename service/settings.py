"""Settings from the environment (``WORKFLOW_*``) with defaults that work on a fresh machine."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WORKFLOW_", extra="ignore")

    database_url: str = Field(default="sqlite:///var/workflow.db",
                              description="SQLAlchemy URL; a relative SQLite path is under the working folder")
    sqlite_synchronous: Literal["FULL", "NORMAL", "EXTRA"] = "FULL"
    busy_timeout_ms: int = Field(default=30_000, ge=0)
    # notifications
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "khcn-workflow@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    webhook_networks: str = Field(default="", description="comma-separated networks (CIDR) that webhooks may "
                                  "reach besides public addresses, e.g. 10.20.0.0/16 for the province's intranet")
    notify_max_attempts: int = Field(default=8, ge=1)
    notify_backoff_s: float = Field(default=30.0, gt=0)
    notify_lease_s: float = Field(default=300.0, gt=0, description="a dead node's claimed notifications are "
                                  "taken over after this long")
    # signed audit checkpoints written by serve (off until a folder is given)
    checkpoint_folder: Path | None = Field(default=None, description="where serve writes an audit checkpoint every "
                                           "checkpoint_hours (off when unset)")
    checkpoint_key: Path | None = Field(default=None, description="Ed25519 private key (PEM, `workflow audit "
                                        "keygen`) that signs them; unsigned without it")
    checkpoint_hours: float = Field(default=24.0, gt=0)
    checkpoint_contact: str = Field(default="KIEMTOAN", description="the contacts entry whose address receives "
                                    "each checkpoint's root (the auditors', kept off this machine)")
    # the service process
    poll_s: float = Field(default=30.0, gt=0, description="how often serve looks for work other processes added")
    node_name: str = "local"
    eoffice_secret: SecretStr | None = Field(default=None, description="the secret shared with the province's "
                                             "e-office system: its receipts are accepted at POST /api/v1/integration/"
                                             "receipts only when signed with it (HMAC-SHA256); unset, the endpoint "
                                             "is off")
    standing_body: str | None = Field(default="SKHCN", description="the plan's standing body (agency code) for "
                                      "tasks whose plan names none: its officers run consultations and follow-up, "
                                      "accept receipt claims and correct recorded facts")
    log_format: Literal["json", "text"] = Field(default="json", description="standard error's log lines: JSON lines "
                                                "or text (service/logs.py)")
    first_key_file: Path | None = Field(default=None, description="where serve's first run writes the first "
                                        "admin key (mode 0600), never to its output; default: beside the SQLite "
                                        "file, or first-admin-key in the working folder for PostgreSQL")
    session_lifetime: dt.timedelta = Field(default=dt.timedelta(hours=8), description="how long a page log-in "
                                           "lasts (ISO 8601 duration or seconds)")
    login_failure_limit: int = Field(default=5, ge=1, description="failed log-ins to one login (from browsers "
                                     "that never logged in to it) after which each further attempt waits 1 s, "
                                     "2 s, 4 s, ... (the owner's own browser is counted apart)")
    login_lock_minutes: float = Field(default=15.0, gt=0, description="the longest such wait, minutes")
    login_address_limit: int = Field(default=20, ge=1, description="failed log-ins from one client address, over "
                                     "every login, after which the address waits the same way (429)")
    password_check_workers: int = Field(default=2, ge=1, le=64, description="password checks run at once "
                                        "(Argon2id takes 64 MiB each)")
    password_check_queue: int = Field(default=16, ge=0, description="log-ins that may wait for a check; beyond "
                                      "them a log-in is refused at once (503, Retry-After)")
    trusted_proxies: str = Field(default="", description="comma-separated addresses or networks (CIDR) of the "
                                 "reverse proxies in front of serve: only from them is X-Forwarded-For believed")
    key_lifetime_days: int = Field(default=365, ge=0, description="how long a new API key lives unless its "
                                   "creator says otherwise (0: until revoked)")
    first_admin_file: Path | None = Field(default=None, description="where serve's first run writes the first "
                                          "administrator's login and password (mode 0600), never to its output; "
                                          "default: beside the first admin key")
    oidc_issuer: str | None = Field(default=None, description="single sign-on: the OpenID Connect provider's "
                                    "issuer URL (its /.well-known/openid-configuration is read); off when unset")
    oidc_client_id: str | None = Field(default=None, description="this service's client id at the provider")
    oidc_client_secret: str | None = Field(default=None, description="its client secret (client_secret_basic)")
    public_url: str | None = Field(default=None, description="the address people reach the pages at, e.g. "
                                   "https://khcn.ninhthuan.gov.vn (single sign-on's redirect URI is built from it; "
                                   "default: the address of the request)")
    files_folder: Path | None = Field(default=None, description="where attached files are stored, content-"
                                      "addressed (default: <database>.files beside the SQLite file; with "
                                      "PostgreSQL a folder every node shares); back it up with the database")
    max_file_mb: float = Field(default=10.0, gt=0, le=100, description="the largest attached file, MB")
    upload_quota_mb: float = Field(default=100.0, gt=0, description="per account: files uploaded and not yet "
                                   "attached to an act, MB (attached files do not count)")
    explanation_working_days: int = Field(default=5, ge=1, le=60, description="the period an agency has to answer "
                                          "a request to explain an overdue duty (working days), unless the request "
                                          "gives its own")
    unattached_file_days: int = Field(default=7, ge=1, description="a file uploaded and never attached to an act is "
                                      "removed after this many days (serve's pass, daily; workflow files clean)")
    files_budget_mb: float = Field(default=20_480.0, gt=0, description="the attached files' folder may hold this "
                                   "many MB; beyond it an upload is refused (503) and the administrator is needed")
    files_reserve_mb: float = Field(default=512.0, ge=0, description="MB kept free on the files' disk (the database "
                                    "may share it): an upload that would leave less is refused (503)")
    timer_batch: int = Field(default=200, ge=1, description="timers fired per transaction")
    body_limit: int = Field(default=1 << 20, ge=1024, description="largest HTTP request body, bytes")
    auth_failure_limit: int = Field(default=60, ge=1, description="failed authentications a client address may "
                                    "make in a minute before it gets 429 (an office behind one address shares it)")
    api_docs: bool = Field(default=False, description="serve the interactive API docs at /docs (Swagger UI loads "
                           "its scripts from a CDN: off by default on the dashboard's origin; /openapi.json is "
                           "always served)")
