"""The dashboard: server-rendered pages (Jinja2, no JavaScript) over the same engine, store and functions as
the API and the CLI, served by the same process. Each page family is a module that reads and acts only through
the application layer (``uses(request).<family>``) and renders: ``signin`` (log-in, single sign-on, one's account,
the language), ``overview`` (the Committee's view and /tasks), ``inbox`` (and an agency's page), ``task`` (a task's
page), ``acts`` (what its forms post), ``history`` (the auditor's pages), ``accounts``, ``plan_import``. Beside them:
``base`` (sessions, CSRF, rendering, refusals), ``labels`` (words for records, pure), ``forms`` (typed form
parsing).

People log in with their account (``service.app.accounts``: a password, a TOTP code if they have a second factor;
locked after repeated failures); API keys are for machines and open no page. The session is a random token in an
HttpOnly, SameSite=Strict cookie, stored in the database only as its SHA-256 and tied to the account (disabling
it, or a new password, ends the session). Every form
carries the session's CSRF token (the log-in form a double-submit one). Roles are the API's: everyone
signed in reads; auditors get no write control and every write route refuses them; officers act only on
their agency's tasks (the engine's rule). Vietnamese by default, English by a cookie the header switches.
"""

from __future__ import annotations

from fastapi import APIRouter

from . import accounts, acts, history, inbox, overview, plan_import, signin, task

pages = APIRouter(include_in_schema=False)
# every page family's routes, in this order (no two families answer the same path)
for family in (signin, overview, inbox, task, acts, history, accounts, plan_import):
    pages.include_router(family.router)

__all__ = ["pages"]
