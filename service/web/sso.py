"""Single sign-on by OpenID Connect (the authorization code flow with PKCE), for people whose province runs an
identity provider: ``WORKFLOW_OIDC_ISSUER``, ``WORKFLOW_OIDC_CLIENT_ID``, ``WORKFLOW_OIDC_CLIENT_SECRET``.

The flow is Authlib's (``OAuth2Session`` of its requests integration: the authorization URL with state, nonce and
an S256 code challenge; the code exchanged with client_secret_basic); the ID token is checked by ``joserfc``
(Authlib's JOSE library) against the provider's published keys: signature, issuer, audience, expiry, nonce.
The subject is then looked up in ``service.app.accounts``: the account linked to it, and no other (an e-mail address,
even one the provider says is verified, links nothing: an administrator links an identity, or the person does after
typing their password and code again, ``/account``). An administrator, or anyone with our second factor, also needs
a second factor: the provider's (its ``amr`` claim) or our TOTP code on the next page. Nobody gets an account by
signing on: an administrator creates it first.

The state, nonce and code verifier travel in a short-lived HttpOnly cookie (SameSite=Lax, since the provider sends
the browser back by a cross-site navigation); the session cookie itself stays SameSite=Strict, so the callback
answers with a page that moves on to the target by itself rather than a redirect.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ..settings import Settings

SCOPE = "openid email profile"
STATE_COOKIE = "wf_sso"
CACHE_SECONDS = 3600.0  # the provider's configuration and keys are read again after this long
TIMEOUT = 15.0


class SsoFailed(Exception):
    """Single sign-on could not be completed (said in the log, not to the person)."""


@dataclass(frozen=True)
class Identity:
    subject: str
    email: str | None  # only a verified address
    name: str | None
    amr: tuple[str, ...] = ()  # how the provider authenticated the person (RFC 8176), e.g. ("pwd", "otp")


@dataclass(frozen=True)
class Started:
    url: str  # where to send the browser
    cookie: str  # the state cookie's value


class Provider:
    """One identity provider: its discovery document and keys, cached."""

    def __init__(self, settings: Settings) -> None:
        if not (settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret):
            raise SsoFailed("single sign-on is not configured (WORKFLOW_OIDC_ISSUER, _CLIENT_ID, _CLIENT_SECRET)")
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret
        self._lock = threading.Lock()
        self._config: tuple[float, dict[str, Any], KeySet] | None = None

    def _session(self, **kwargs: Any) -> OAuth2Session:
        return OAuth2Session(self.client_id, self.client_secret, scope=SCOPE, code_challenge_method="S256",
                             token_endpoint_auth_method="client_secret_basic", **kwargs)

    def configuration(self, fresh: bool = False) -> tuple[dict[str, Any], KeySet]:
        with self._lock:
            if not fresh and self._config is not None and time.monotonic() - self._config[0] < CACHE_SECONDS:
                return self._config[1], self._config[2]
            with requests.Session() as http:  # public documents: no token
                found = http.get(f"{self.issuer}/.well-known/openid-configuration", timeout=TIMEOUT)
                found.raise_for_status()
                config = found.json()
                if config.get("issuer", "").rstrip("/") != self.issuer:
                    raise SsoFailed(f"the provider says its issuer is {config.get('issuer')!r}, not {self.issuer!r}")
                keys = http.get(config["jwks_uri"], timeout=TIMEOUT)
                keys.raise_for_status()
            self._config = (time.monotonic(), config, KeySet.import_key_set(keys.json()))
            return config, self._config[2]

    def start(self, redirect_uri: str, target: str) -> Started:
        config, _ = self.configuration()
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        with self._session(redirect_uri=redirect_uri) as http:
            url, _ = http.create_authorization_url(config["authorization_endpoint"], state=state, nonce=nonce,
                                                   code_verifier=verifier)
        cookie = base64.urlsafe_b64encode(json.dumps(
            {"state": state, "nonce": nonce, "verifier": verifier, "next": target}).encode()).decode()
        return Started(url, cookie)

    def finish(self, redirect_uri: str, cookie: str, state: str, code: str) -> tuple[Identity, str]:
        """The identity the provider vouches for, and the page to go to."""
        try:
            saved = json.loads(base64.urlsafe_b64decode(cookie.encode()))
        except (ValueError, TypeError):
            raise SsoFailed("no single sign-on in progress in this browser") from None
        if not isinstance(saved, dict) or not secrets.compare_digest(str(saved.get("state", "")), state):
            raise SsoFailed("the state does not match this browser's sign-on")
        config, keys = self.configuration()
        with self._session(redirect_uri=redirect_uri) as http:
            token = http.fetch_token(config["token_endpoint"], code=code, code_verifier=saved["verifier"],
                                     timeout=TIMEOUT)
            claims = self._checked(token.get("id_token"), keys, saved["nonce"])
            email = claims.get("email") if claims.get("email_verified") is True else None
            if email is None and config.get("userinfo_endpoint"):
                info = http.get(config["userinfo_endpoint"], timeout=TIMEOUT)
                info.raise_for_status()
                about = info.json()
                if about.get("sub") == claims["sub"] and about.get("email_verified") is True:
                    email = about.get("email")
        amr = claims.get("amr")
        methods = tuple(str(m) for m in amr) if isinstance(amr, list) else ()
        return Identity(str(claims["sub"]), email, claims.get("name"), methods), str(saved.get("next") or "/")

    def _checked(self, id_token: str | None, keys: KeySet, nonce: str) -> dict[str, Any]:
        if not id_token:
            raise SsoFailed("the provider sent no ID token")
        try:
            decoded = jwt.decode(id_token, keys, algorithms=["RS256", "ES256", "PS256", "EdDSA"])
        except JoseError:
            # a key rotated at the provider: read its keys once more
            _, keys = self.configuration(fresh=True)
            try:
                decoded = jwt.decode(id_token, keys, algorithms=["RS256", "ES256", "PS256", "EdDSA"])
            except JoseError as err:
                raise SsoFailed(f"the ID token's signature does not verify: {err}") from None
        rules = jwt.JWTClaimsRegistry(leeway=60, iss={"essential": True, "value": self.issuer},
                                      aud={"essential": True, "value": self.client_id},
                                      sub={"essential": True}, exp={"essential": True},
                                      nonce={"essential": True, "value": nonce})
        try:
            rules.validate(decoded.claims)  # expiry against this machine's clock: the provider's tokens are real
        except JoseError as err:
            raise SsoFailed(f"the ID token is not valid here: {err}") from None
        return dict(decoded.claims)


_providers: dict[tuple[str, str], Provider] = {}


def provider_of(settings: Settings) -> Provider:
    key = (settings.oidc_issuer or "", settings.oidc_client_id or "")
    if key not in _providers:
        _providers[key] = Provider(settings)
    return _providers[key]
