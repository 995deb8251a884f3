"""Ed25519 signatures on audit checkpoints (``cryptography``), so a checkpoint kept off the machine proves who took
it and that nothing in it was changed since.

A signed checkpoint carries ``signature: {algorithm, public_key, value}``, the signature over the canonical
encoding of its format, time and Merkle root (the root covers every chain head). The private key signs on the
host; the auditor keeps the public key, and the roots, off it: anyone who later takes over the host can sign new
checkpoints, but cannot make an earlier root, already kept elsewhere, say something else.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from definitions import WorkflowError
from workflow.audit import canonical


class CheckpointUnreadable(WorkflowError):
    def __init__(self, path: object, err: Exception) -> None:
        super().__init__(f"{path}: not a usable checkpoint: {err}")



def _signed_part(document: dict[str, Any]) -> bytes:
    return canonical({"format": document["format"], "taken_at": document["taken_at"], "root": document["root"]})


def new_key_pair(private_file: Path, public_file: Path) -> None:
    """Write a new Ed25519 key pair as PEM files (the private one readable by its owner only)."""
    key = Ed25519PrivateKey.generate()
    private_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    private_file.chmod(0o600)
    public_file.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo))


def sign(document: dict[str, Any], private_file: Path) -> dict[str, Any]:
    try:
        key = serialization.load_pem_private_key(private_file.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as err:
        raise CheckpointUnreadable(private_file, err) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointUnreadable(private_file, ValueError("not an Ed25519 private key"))
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {**document, "signature": {"algorithm": "Ed25519", "public_key": base64.b64encode(public).decode(),
                                      "value": base64.b64encode(key.sign(_signed_part(document))).decode()}}


def check(document: dict[str, Any], public_file: Path) -> None:
    """Raise ``CheckpointUnreadable`` unless the checkpoint is signed by the key in ``public_file``."""
    try:
        key = serialization.load_pem_public_key(public_file.read_bytes())
    except (OSError, ValueError, TypeError) as err:
        raise CheckpointUnreadable(public_file, err) from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointUnreadable(public_file, ValueError("not an Ed25519 public key"))
    signature = document.get("signature")
    if not isinstance(signature, dict) or signature.get("algorithm") != "Ed25519":
        raise CheckpointUnreadable("the checkpoint", ValueError("it is not signed (Ed25519)"))
    try:
        key.verify(base64.b64decode(str(signature.get("value", ""))), _signed_part(document))
    except (InvalidSignature, ValueError) as err:
        raise CheckpointUnreadable("the checkpoint", ValueError(
            f"its signature does not match {public_file}: altered, or signed by another key")) from err
