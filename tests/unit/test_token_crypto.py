"""OAuth tokens are encrypted at rest with a key derived from SECRET_KEY."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet

from tutor_app.core.token_crypto import TokenDecryptError, decrypt_token, encrypt_token

TOKEN = {
    "access_token": "ya29.a0AfB_byC-secret-access",
    "refresh_token": "1//0gSecretRefreshToken",
    "expires_at": 1_900_000_000,
    "scope": "openid email https://www.googleapis.com/auth/calendar.events",
}
KEY = "k" * 40


def test_round_trip_gives_the_token_back() -> None:
    assert decrypt_token(encrypt_token(TOKEN, secret_key=KEY), secret_key=KEY) == TOKEN


def test_ciphertext_contains_no_part_of_the_token() -> None:
    ciphertext = encrypt_token(TOKEN, secret_key=KEY)

    for secret in ("ya29", "SecretRefreshToken", "secret-access", "calendar.events"):
        assert secret not in ciphertext
    # And not in any base64 reading of it either (Fernet encrypts, it does not encode).
    raw = base64.urlsafe_b64decode(ciphertext.encode())
    assert b"ya29" not in raw and b"1//" not in raw


def test_each_encryption_is_different() -> None:
    # A fresh IV each time: equal tokens of two tutors do not look equal in the table.
    assert encrypt_token(TOKEN, secret_key=KEY) != encrypt_token(TOKEN, secret_key=KEY)


def test_a_different_secret_key_fails_loudly() -> None:
    ciphertext = encrypt_token(TOKEN, secret_key=KEY)

    with pytest.raises(TokenDecryptError):
        decrypt_token(ciphertext, secret_key="another-secret-key-of-enough-length")


def test_a_tampered_value_fails_loudly() -> None:
    ciphertext = encrypt_token(TOKEN, secret_key=KEY)
    raw = bytearray(base64.urlsafe_b64decode(ciphertext.encode()))
    raw[-40] ^= 0x01
    tampered = base64.urlsafe_b64encode(bytes(raw)).decode()

    with pytest.raises(TokenDecryptError):
        decrypt_token(tampered, secret_key=KEY)
    with pytest.raises(TokenDecryptError):
        decrypt_token("not a fernet token", secret_key=KEY)


def test_the_key_is_derived_not_the_secret_itself() -> None:
    # A Fernet key made naively from the secret's bytes must not open our ciphertext: the
    # HKDF step (with its purpose label) is what makes the key.
    ciphertext = encrypt_token(TOKEN, secret_key=KEY)
    naive = Fernet(base64.urlsafe_b64encode(KEY.encode()[:32]))

    with pytest.raises(Exception):  # noqa: B017 - any failure to decrypt is the point
        naive.decrypt(ciphertext.encode())


def test_default_key_follows_settings(configure) -> None:  # type: ignore[no-untyped-def]
    configure(SECRET_KEY="first-secret-key-first-secret-key-1")
    ciphertext = encrypt_token(TOKEN)
    assert decrypt_token(ciphertext) == TOKEN

    configure(SECRET_KEY="second-secret-key-second-secret-key")
    with pytest.raises(TokenDecryptError):
        decrypt_token(ciphertext)
