"""Encryption at rest for OAuth tokens (a tutor's Google Calendar grant).

A refresh token is a long-lived key to someone's calendar, so the database never holds it in
the clear: a database dump or backup alone gives nothing away. The Fernet key (AES-128-CBC +
HMAC-SHA256, authenticated) is derived from `SECRET_KEY` with HKDF-SHA256 under a fixed
purpose label, so the same secret can sign sessions elsewhere without its derived keys ever
being equal, and no second secret has to be managed.

Changing `SECRET_KEY` makes stored tokens undecryptable. That fails loudly
(`TokenDecryptError`) and the caller turns the connection into "reconnect needed": the tutor
connects once more, nothing is silently wrong.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tutor_app.core.settings import get_settings

# The purpose label: changing it is a key rotation (every stored token becomes unreadable).
HKDF_INFO = b"tutor_app/oauth-token-encryption/v1"


class TokenDecryptError(Exception):
    """A stored token cannot be read with the current key (changed SECRET_KEY or tampering)."""


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
        secret_key.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_token(token: Mapping[str, Any], *, secret_key: str | None = None) -> str:
    """The token dict as JSON, encrypted and authenticated; a str for a text column."""
    key = secret_key if secret_key is not None else get_settings().secret_key
    plaintext = json.dumps(dict(token), separators=(",", ":"), sort_keys=True).encode("utf-8")
    return _fernet(key).encrypt(plaintext).decode("ascii")


def decrypt_token(ciphertext: str, *, secret_key: str | None = None) -> dict[str, Any]:
    """The token dict back; `TokenDecryptError` when the key is wrong or the value altered."""
    key = secret_key if secret_key is not None else get_settings().secret_key
    try:
        plaintext = _fernet(key).decrypt(ciphertext.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise TokenDecryptError("stored token cannot be decrypted with the current key") from exc
    value = json.loads(plaintext)
    if not isinstance(value, dict):
        raise TokenDecryptError("stored token is not a JSON object")
    return value
