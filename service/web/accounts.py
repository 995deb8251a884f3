"""People's accounts, for administrators: create, disable, enable, reset a password, turn a second factor off."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import segno
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from definitions import NotFound, WorkflowError
from store.accounts import Account

from .. import limits
from ..app.accounts import NewSecondFactor
from ..errors import answer
from ..http import uses
from .base import (
    SECURITY_HEADERS,
    User,
    _day,
    _lang,
    _message,
    _not_found,
    _now,
    _posted,
    _render,
    _signed_in,
)
from .i18n import words
from .labels import _clock_time
from .overview import _agency_choices
from .refusals import said

router = APIRouter(include_in_schema=False)


ACCOUNT_FIELDS = ("login", "name", "position", "role", "agency", "email")


ACCOUNT_DONE = {"created", "disabled", "enabled", "password", "second_factor_off"}


def _account_rows(request: Request, accounts: list[Account], names: dict[str, str]) -> list[dict[str, Any]]:
    now = _now(request)
    return [{"login": a.login, "name": a.name, "position": a.position, "role": a.role, "agency": a.agency,
             "agency_name": names.get(a.agency, a.agency) if a.agency else None, "email": a.email,
             "second_factor": a.has_totp, "sso": a.oidc_subject is not None, "password": a.has_password,
             "disabled": a.disabled_at is not None, "disabled_on": _day(a.disabled_at),
             "locked_until": _clock_time(a.locked_until) if a.locked_until and a.locked_until > now else None}
            for a in accounts]


def _accounts_page(request: Request, user: User, status: int = 200, flash: str | None = None, flash_kind: str = "",
                   kept: dict[str, Any] | None = None, secret: dict[str, str] | None = None) -> HTMLResponse:
    """``kept``: after a refusal, the form sent (``form``: which one, ``values``, each field's ``fields`` problem)."""
    records = uses(request).records
    try:
        accounts = uses(request).accounts.list(user.actor)
    except WorkflowError:
        return _message(request, user, 403, "forbidden", words(_lang(request))["accounts_forbidden"])
    names = records.agency_names()
    agencies = _agency_choices(request, names, ended=False)  # a new officer belongs to an agency that exists
    return _render(request, "accounts.html", status, user, accounts=_account_rows(request, accounts, names),
                   agencies=agencies, roles=["officer", "committee", "auditor", "admin"], flash=flash,
                   flash_kind=flash_kind, kept=kept or {"form": None, "values": {}, "fields": {}}, secret=secret,
                   writes=uses(request).accounts.may_manage(user.actor))


@router.get("/accounts")
def accounts_page(request: Request, done: str = "", who: str = "") -> HTMLResponse:
    user = _signed_in(request)
    t = words(_lang(request))
    flash = t[f"account_done_{done}"].format(login=who[:limits.IDENTIFIER]) if done in ACCOUNT_DONE else None
    return _accounts_page(request, user, flash=flash, flash_kind="ok" if flash else "")


def _account_act(request: Request, user: User, op: str, login: str, form: FormData) -> Response:
    accounts, lang = uses(request).accounts, _lang(request)
    values = {k: str(form.get(k) or "").strip()[:limits.LONG_NAME] for k in ACCOUNT_FIELDS}  # kept after a refusal
    secret = None
    try:
        differ: list[tuple[str, str]] = []
        if op in ("create", "password"):
            password = str(form.get("password") or "")[:limits.NAME]
            if password != str(form.get("password2") or "")[:limits.NAME]:  # said with every other problem of the form
                differ = [("password2", "the two passwords differ")]
        if op == "create":
            login = values["login"]
            accounts.create(user.actor, login, values["name"], values["role"], values["agency"] or None,
                            values["email"] or None, values["position"] or None, password or None, also=differ)
            done = "created"
        elif op == "disable":
            accounts.disable(user.actor, login)
            done = "disabled"
        elif op == "enable":
            accounts.enable(user.actor, login)
            done = "enabled"
        elif op == "password":
            accounts.reset_password(user.actor, login, password, also=differ)
            done = "password"
        elif form.get("on") == "1":
            made = accounts.second_factor(user.actor, login)
            assert isinstance(made, NewSecondFactor)
            secret = {"login": login, "secret": made.secret, "uri": made.uri,
                      "qr": segno.make(made.uri, error="m").svg_inline(scale=5, title=words(lang)["second_factor_qr"])}
            done = ""
        else:
            accounts.second_factor(user.actor, login, on=False)
            done = "second_factor_off"
    except WorkflowError as err:
        sentence, problems = said(err, lang, uses(request).records.agency_names())
        kept = {"form": op if op == "create" else f"{op}:{login}", "values": values, "fields": problems}
        return _accounts_page(request, user, answer(err).status, f"{words(lang)['error']}: {sentence}", kept=kept)
    if secret is not None:  # shown once, on this answer only (not in a URL, not in the log)
        return _accounts_page(request, user, flash=words(lang)["account_second_factor_on"].format(login=login),
                              flash_kind="ok", secret=secret)
    return RedirectResponse(f"/accounts?done={done}&who={quote(login)}", status_code=303, headers=SECURITY_HEADERS)


@router.post("/accounts")
async def create_account(request: Request) -> Response:
    return await _account_post(request, "create", "")


@router.post("/accounts/{login}/{op}")
async def change_account(request: Request, login: str, op: str) -> Response:
    if op not in ("disable", "enable", "password", "second-factor"):
        user = _signed_in(request)
        return _not_found(request, user, NotFound("page", op))
    return await _account_post(request, op.replace("second-factor", "second_factor"), login[:limits.IDENTIFIER])


async def _account_post(request: Request, op: str, login: str) -> Response:
    user, form, refused = await _posted(request)
    if refused is not None:
        return refused
    if not uses(request).accounts.may_manage(user.actor):
        return _message(request, user, 403, "forbidden", words(_lang(request))["accounts_forbidden"])
    return await run_in_threadpool(_account_act, request, user, op, login, form)
