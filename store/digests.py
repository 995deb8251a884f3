"""Digests the store keeps instead of secrets: an API key or a session token by its SHA-256 (``hash_key``), a
password hash or a TOTP secret in the system history by its fingerprint. A leaf: it imports nothing of the store."""

from __future__ import annotations

import hashlib


def hash_key(token: str) -> str:
    """What is stored of an API key or a session token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def fingerprint(secret: str | None) -> str | None:
    """What the system history keeps of a password hash or a TOTP secret: enough to find an edited row."""
    return None if secret is None else hashlib.sha256(secret.encode("utf-8")).hexdigest()
