"""What every page family shares: the session and its CSRF token, the page's language, rendering with the security
headers, and the refusals every page gives alike (403, 404, log-in required). No page's own logic lives here."""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.datastructures import FormData

from definitions import NotFound
from store.accounts import Account
from workflow import Actor

from ..app.accounts import actor_of
from ..http import uses
from ..views import local_time
from .i18n import LANGUAGES, words

SESSION_COOKIE = "wf_session"
LOGIN_COOKIE = "wf_login_csrf"
DEVICE_COOKIE = "wf_device"  # a browser that logged in before (service/app/login_guard.py)
SSO_STEP_COOKIE = "wf_sso_step"  # single sign-on done, our second factor to come
SSO_LINK_COOKIE = "wf_sso_link"  # a person linking their identity (Lax: it must come back from the provider)
LANG_COOKIE = "wf_lang"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}

templates = Environment(loader=PackageLoader("service.web", "templates"),  # importlib: works from a wheel
                        autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
@dataclass(frozen=True)
class User:
    account: Account
    csrf: str

    @property
    def actor(self) -> Actor:
        return actor_of(self.account)

    @property
    def name(self) -> str:
        return self.account.name

    @property
    def position(self) -> str | None:
        return self.account.position

    @property
    def role(self) -> str:
        return self.account.role

    @property
    def agency(self) -> str | None:
        return self.account.agency


class LoginRequired(Exception):
    pass


def _now(request: Request) -> dt.datetime:
    return uses(request).records.now()


def _lang(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, "vi")
    return lang if lang in LANGUAGES else "vi"


def _local_path(value: str | None) -> str:
    """Only a path on this site may be a redirect target (no scheme, no host, no '//')."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _user(request: Request) -> User | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    found = uses(request).accounts.session(token)
    return None if found is None else User(*found)


def _signed_in(request: Request) -> User:
    user = _user(request)
    if user is None:
        raise LoginRequired
    request.state.actor = user.actor.id
    return user


def _render(request: Request, name: str, status: int = 200, user: User | None = None, csrf: str | None = None,
            **values: Any) -> HTMLResponse:
    lang = _lang(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if user is not None and "may_import" not in values:
        values["may_import"] = uses(request).plan_imports.may_import(user.actor)
    if user is not None and user.account.agency and "user_agency" not in values:  # its name, never its code
        values["user_agency"] = uses(request).records.agency_names().get(user.account.agency, user.account.agency)
    html = templates.get_template(name).render(t=words(lang), lang=lang, user=user, here=here,
                                               csrf=csrf if csrf is not None else user.csrf if user else "", **values)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _message(request: Request, user: User | None, status: int, heading_key: str, message: str) -> HTMLResponse:
    return _render(request, "message.html", status, user, heading=words(_lang(request))[heading_key], message=message)


def _not_found(request: Request, user: User | None, err: NotFound) -> HTMLResponse:
    """A 404 in the page's language: what was looked for, by the words a person uses, and the nearest match."""
    t = words(_lang(request))
    kind = t.get(f"thing_{err.kind}", t["thing_other"])
    message = t["not_found_thing"].format(thing=kind, key=err.key)
    if err.suggestions:
        message += " " + t["did_you_mean"].format(err.suggestions[0])
    return _message(request, user, 404, "not_found", message)


def page_not_found(request: Request) -> HTMLResponse:
    """A path no page has (asked for by a browser)."""
    return _message(request, _user(request), 404, "not_found", words(_lang(request))["no_such_page"])


def login_redirect(request: Request, _exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303, headers=SECURITY_HEADERS)


def _check_csrf(given: str | None, expected: str) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), expected)


async def _posted(request: Request) -> tuple[User, FormData, Response | None]:
    """The signed-in user and the form they sent, and a refusal (403) when it lacks the session's CSRF token."""
    user = _signed_in(request)
    form = await request.form()
    if not _check_csrf(str(form.get("csrf") or ""), user.csrf):
        return user, form, _message(request, user, 403, "forbidden", words(_lang(request))["bad_csrf"])
    return user, form, None


def _role_refused(request: Request, user: User) -> HTMLResponse:
    t = words(_lang(request))
    return _message(request, user, 403, "forbidden", t["role_may_not"].format(role=t["role_" + user.role]))


def _day(instant: dt.datetime | None) -> str | None:
    """Province time; a deadline at midnight reads as 24:00 of its last day, as the law counts it."""
    return None if instant is None else local_time(instant)
