"""Logging in and out: the password form, single sign-on and its second step, one's own account, the language switch."""

from __future__ import annotations

import asyncio
import logging
import secrets

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from .. import limits
from ..app.accounts import LoginRefused, SecondFactorDue, Session
from ..http import client_address, throttle_of, uses
from . import sso
from .base import (
    DEVICE_COOKIE,
    LANG_COOKIE,
    LOGIN_COOKIE,
    SECURITY_HEADERS,
    SESSION_COOKIE,
    SSO_LINK_COOKIE,
    SSO_STEP_COOKIE,
    User,
    _check_csrf,
    _lang,
    _local_path,
    _message,
    _now,
    _posted,
    _render,
    _signed_in,
)
from .i18n import LANGUAGES, words

router = APIRouter(include_in_schema=False)


_log = logging.getLogger("workflow.auth")


def _login_form(request: Request, target: str, status: int = 200, flash: str | None = None, login: str = "",
                wants_code: bool = False) -> HTMLResponse:
    token = secrets.token_urlsafe(32)  # the form's CSRF token: a double-submit cookie (there is no session yet)
    settings = uses(request).records.settings
    response = _render(request, "login.html", status, csrf=token, next=target, flash=flash, login=login,
                       wants_code=wants_code, hours=int(settings.session_lifetime.total_seconds() // 3600),
                       sso=settings.oidc_issuer is not None)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                        max_age=3600, path="/login")
    return response


LANDING = {"officer": "/inbox", "committee": "/inbox", "auditor": "/audit"}  # admins land on the overview


@router.get("/login")
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return _login_form(request, _local_path(next))


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    target = _local_path(str(form.get("next") or "/"))
    if not _check_csrf(str(form.get("csrf") or ""), request.cookies.get(LOGIN_COOKIE, "")):
        return _login_form(request, target, 403, words(_lang(request))["bad_csrf"])
    login_name = str(form.get("login") or "").strip()[:limits.IDENTIFIER]
    try:
        session = await run_in_threadpool(uses(request).accounts.log_in, login_name,
                                          str(form.get("password") or "")[:limits.NAME],
                                          str(form.get("code") or "")[:limits.TOTP_CODE], client_address(request),
                                          request.cookies.get(DEVICE_COOKIE))
    except LoginRefused as refused:
        if refused.pace:
            await asyncio.sleep(refused.pace)  # as long as a password check: a refusal without one looks the same
        t = words(_lang(request))
        status = {"throttled": 429, "busy": 503}.get(refused.reason, 401)
        answer = _login_form(request, target, status, t["login_" + refused.reason], login_name,
                             wants_code=refused.reason in ("totp_needed", "bad_totp"))
        if status in (429, 503):
            wait = 1 if refused.until is None else int((refused.until - _now(request)).total_seconds()) + 1
            answer.headers["Retry-After"] = str(max(1, wait))
        return answer
    return _session_response(request, session, target)


def _session_response(request: Request, session: Session, target: str) -> Response:
    if target == "/":  # each role lands where its work is
        target = LANDING.get(session.account.role, "/")
    response = RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
    lifetime = uses(request).records.settings.session_lifetime
    response.set_cookie(SESSION_COOKIE, session.token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=int(lifetime.total_seconds()), path="/")
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    if session.device is not None:  # this browser has logged in to this login: others' failures do not slow it
        response.set_cookie(DEVICE_COOKIE, session.device, httponly=True, samesite="strict", max_age=400 * 86400,
                            secure=request.url.scheme == "https", path="/login")
    return response


def _redirect_uri(request: Request) -> str:
    base = uses(request).records.settings.public_url or str(request.base_url)
    return base.rstrip("/") + "/login/sso/callback"


@router.get("/login/sso")
async def sso_start(request: Request, next: str = "/") -> Response:
    """Off to the identity provider (single sign-on), if one is configured."""
    settings = uses(request).records.settings
    t = words(_lang(request))
    if settings.oidc_issuer is None:
        return _message(request, None, 404, "not_found", t["sso_off"])
    try:
        started = await run_in_threadpool(sso.provider_of(settings).start, _redirect_uri(request), _local_path(next))
    except Exception as err:  # the provider unreachable or misconfigured: said in the log, not to the person
        _log.warning("single sign-on could not start: %s", err)
        return _login_form(request, _local_path(next), 502, t["login_sso_failed"])
    response = RedirectResponse(started.url, status_code=303, headers=SECURITY_HEADERS)
    response.set_cookie(sso.STATE_COOKIE, started.cookie, httponly=True, samesite="lax", max_age=600,
                        secure=request.url.scheme == "https", path="/login/sso")
    return response


@router.get("/login/sso/callback")
async def sso_callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    """Back from the identity provider: a link step finishes its link; otherwise the account linked to that
    identity gets a session, or the page for our second factor first."""
    settings = uses(request).records.settings
    t = words(_lang(request))
    if settings.oidc_issuer is None:
        return _message(request, None, 404, "not_found", t["sso_off"])
    throttle, address = throttle_of(request), client_address(request)
    accounts = uses(request).accounts
    linking = request.cookies.get(SSO_LINK_COOKIE, "")[:100]
    try:
        if error or not code or not state:
            raise sso.SsoFailed(f"the provider answered {error or 'without a code'}")
        identity, target = await run_in_threadpool(sso.provider_of(settings).finish, _redirect_uri(request),
                                                   request.cookies.get(sso.STATE_COOKIE, ""), state[:200], code[:2000])
        if linking:
            await run_in_threadpool(accounts.finish_link, linking, identity.subject)
            response = _render(request, "moving_on.html", 200, target="/account?done=linked")
            response.delete_cookie(SSO_LINK_COOKIE, path="/login/sso")
            response.delete_cookie(sso.STATE_COOKIE, path="/login/sso")
            return response
        signed = await run_in_threadpool(accounts.single_sign_on, identity.subject, identity.amr)
    except LoginRefused as refused:
        throttle.failed(address, f"single sign-on refused: {refused.reason}")
        answer = _login_form(request, "/", 403, t["login_" + refused.reason])
        answer.delete_cookie(SSO_LINK_COOKIE, path="/login/sso")
        return answer
    except Exception as err:  # the provider's errors are of many kinds: each is logged and refused
        throttle.failed(address, "single sign-on failed")
        _log.warning("single sign-on failed: %s", err)
        return _login_form(request, "/", 401, t["login_sso_failed"])
    target = _local_path(target)
    if isinstance(signed, SecondFactorDue):  # our own code next, on a page of this site
        return _sso_code_form(request, target, signed.token)
    return _sso_landed(request, signed, target)


def _sso_landed(request: Request, session: Session, target: str) -> Response:
    if target == "/":
        target = LANDING.get(session.account.role, "/")
    # a page that moves on by itself (not a redirect): the browser arrived here from the provider's site, and the
    # SameSite=Strict session cookie is sent only on a navigation that starts on this site
    response = _render(request, "moving_on.html", 200, target=target)
    lifetime = uses(request).records.settings.session_lifetime
    response.set_cookie(SESSION_COOKIE, session.token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=int(lifetime.total_seconds()), path="/")
    response.delete_cookie(sso.STATE_COOKIE, path="/login/sso")
    response.delete_cookie(SSO_STEP_COOKIE, path="/login/sso")
    return response


def _sso_code_form(request: Request, target: str, step: str | None, status: int = 200,
                   flash: str | None = None) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = _render(request, "sso_code.html", status, csrf=token, next=target, flash=flash)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                        max_age=600, path="/login")
    if step is not None:
        response.set_cookie(SSO_STEP_COOKIE, step, httponly=True, samesite="strict", max_age=600,
                            secure=request.url.scheme == "https", path="/login/sso")
    return response


@router.post("/login/sso/code")
async def sso_code(request: Request) -> Response:
    """Our TOTP code after single sign-on."""
    form = await request.form()
    target = _local_path(str(form.get("next") or "/"))
    t = words(_lang(request))
    if not _check_csrf(str(form.get("csrf") or ""), request.cookies.get(LOGIN_COOKIE, "")):
        return _login_form(request, target, 403, t["bad_csrf"])
    try:
        session = await run_in_threadpool(uses(request).accounts.second_factor_after_sign_on,
                                          request.cookies.get(SSO_STEP_COOKIE, "")[:100],
                                          str(form.get("code") or "")[:limits.TOTP_CODE], client_address(request))
    except LoginRefused as refused:
        if refused.pace:
            await asyncio.sleep(refused.pace)
        reason = "sso_bad_totp" if refused.reason == "bad_totp" else refused.reason
        answer = _login_form(request, target, 401, t["login_" + reason])
        answer.delete_cookie(SSO_STEP_COOKIE, path="/login/sso")
        return answer
    return _sso_landed(request, session, target)


@router.get("/account")
def own_account(request: Request, done: str = "") -> HTMLResponse:
    user = _signed_in(request)
    t = words(_lang(request))
    flash = t["account_sso_linked"] if done == "linked" else None
    return _own_account_page(request, user, 200, flash, "ok" if flash else "")


def _own_account_page(request: Request, user: User, status: int, flash: str | None = None,
                      flash_kind: str = "") -> HTMLResponse:
    settings = uses(request).records.settings
    return _render(request, "account.html", status, user, me=user.account, sso=settings.oidc_issuer is not None,
                   flash=flash, flash_kind=flash_kind)


@router.post("/account/sso")
async def link_sso(request: Request) -> Response:
    """Link this person's identity at the provider: their password (and code) again, then off to the provider."""
    user, form, refused = await _posted(request)
    if refused is not None:
        return refused
    t = words(_lang(request))
    if uses(request).records.settings.oidc_issuer is None:
        return _message(request, user, 404, "not_found", t["sso_off"])
    try:
        step = await run_in_threadpool(uses(request).accounts.start_link, user.account,
                                       str(form.get("password") or "")[:limits.NAME],
                                       str(form.get("code") or "")[:limits.TOTP_CODE], client_address(request),
                                       request.cookies.get(DEVICE_COOKIE))
    except LoginRefused as no:
        if no.pace:
            await asyncio.sleep(no.pace)
        return _own_account_page(request, user, 401, t["login_" + no.reason], "error")
    # a page that moves on by itself, not a redirect: the policy's form-action 'self' forbids a form's answer to
    # lead to the provider's site, and a new navigation from this page is not the form's
    response = _render(request, "moving_on.html", 200, user, target="/login/sso?next=/account",
                       note=t["moving_on_provider"])
    response.set_cookie(SSO_LINK_COOKIE, step, httponly=True, samesite="lax", max_age=600,
                        secure=request.url.scheme == "https", path="/login/sso")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    _, _, refused = await _posted(request)
    if refused is not None:
        return refused
    await run_in_threadpool(uses(request).accounts.log_out, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303, headers=SECURITY_HEADERS)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang")
def switch_language(to: str = "vi", next: str = "/") -> Response:
    response = RedirectResponse(_local_path(next), status_code=303, headers=SECURITY_HEADERS)
    response.set_cookie(LANG_COOKIE, to if to in LANGUAGES else "vi", samesite="strict", max_age=365 * 86400,
                        path="/")
    return response
