"""Secrets the portal must read back, encrypted at rest: the signing secrets of agencies'
webhooks (an API token is only ever compared, so it is stored as a hash instead).

Fernet from ``cryptography`` (AES-128-CBC and HMAC-SHA256, authenticated: a changed or
foreign token is refused, never decrypted to garbage). The keys come from configuration:

- ``WEBHOOK_SECRET_KEY``, a random string of at least 32 characters, encrypts; without
  it ``SECRET_KEY`` is used, so a deployment has one secret fewer to keep (but then
  changing ``SECRET_KEY`` is a key rotation, below);
- ``WEBHOOK_SECRET_OLD_KEYS``, a list, still decrypts (key rotation).

Each configured string becomes a Fernet key by HKDF-SHA256 (RFC 5869) with no salt and
the info ``liaison-portal/webhook-secrets/v1``, 32 bytes, base64url-encoded; so any
string may serve, including a Flask ``SECRET_KEY``, and the webhook key differs from the
key Flask signs sessions with even when derived from it.

Rotation: put the new key in ``WEBHOOK_SECRET_KEY`` and the old one (or the old
``SECRET_KEY``) in ``WEBHOOK_SECRET_OLD_KEYS``, restart, run ``flask --app wsgi webhooks
rotate-secrets`` (it re-encrypts every secret with the new key), then drop the old key.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

# cryptography (about 6 MB) is imported when a webhook secret is sealed or opened, not
# by every web worker at start-up.
if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

HKDF_INFO = b"liaison-portal/webhook-secrets/v1"
MIN_KEY_LENGTH = 32


class SecretUnreadable(Exception):
    """A stored secret was encrypted with none of the configured keys, or was altered."""


def derive_key(material: str) -> bytes:
    """The Fernet key for one configured string (HKDF-SHA256, see the module)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=HKDF_INFO).derive(material.encode())
    return base64.urlsafe_b64encode(raw)


def key_materials(config: Mapping[str, Any]) -> list[str]:
    """The configured key strings, the encrypting one first.

    Raises:
        RuntimeError: no key at all (neither ``WEBHOOK_SECRET_KEY`` nor ``SECRET_KEY``).
    """
    current = config.get("WEBHOOK_SECRET_KEY") or config.get("SECRET_KEY")
    if not current:
        raise RuntimeError("no WEBHOOK_SECRET_KEY or SECRET_KEY to encrypt webhook secrets")
    old = config.get("WEBHOOK_SECRET_OLD_KEYS") or []
    if isinstance(old, str):  # one key given as a plain environment string
        old = [old]
    return [str(current), *(str(k) for k in old if k)]


def keyring(config: Mapping[str, Any]) -> MultiFernet:
    from cryptography.fernet import Fernet, MultiFernet

    return MultiFernet([Fernet(derive_key(m)) for m in key_materials(config)])


def seal(plain: str, config: Mapping[str, Any]) -> str:
    """Encrypt ``plain`` with the current key."""
    return keyring(config).encrypt(plain.encode()).decode("ascii")


def unseal(token: str, config: Mapping[str, Any]) -> str:
    """Decrypt a sealed secret with any configured key.

    Raises:
        SecretUnreadable: no configured key opens it, or it was altered.
    """
    from cryptography.fernet import InvalidToken

    try:
        return keyring(config).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        raise SecretUnreadable("no configured key opens this secret") from None


def reseal(token: str, config: Mapping[str, Any]) -> str:
    """The same secret encrypted with the current key (for rotation).

    Raises:
        SecretUnreadable: as :func:`unseal`.
    """
    from cryptography.fernet import InvalidToken

    try:
        return keyring(config).rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise SecretUnreadable("no configured key opens this secret") from None
