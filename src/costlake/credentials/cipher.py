"""Encryption at rest for stored secrets: Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`.

The key is COSTLAKE_SECRET_KEY when set (a Fernet key, or any passphrase, stretched with HKDF), else a key file
`<home>/secret.key` generated on first use with mode 0600. Every process sharing a catalog must use the same key:
shared deployments set COSTLAKE_SECRET_KEY.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from costlake.errors import CostlakeError
from costlake.settings import Settings

KEY_FILE = "secret.key"


class SecretKeyError(CostlakeError):
    pass


def _fernet_key(text: str) -> bytes:
    raw = text.strip().encode()
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except (binascii.Error, ValueError):
        pass
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"costlake secret key").derive(raw)
    return base64.urlsafe_b64encode(derived)


def _key_file(home: Path) -> bytes:
    path = home / KEY_FILE
    home.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(descriptor, "wb") as file:
        file.write(Fernet.generate_key())
    return path.read_bytes().strip()


class SecretCipher:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def for_settings(cls, settings: Settings) -> SecretCipher:
        if settings.secret_key is not None:
            return cls(_fernet_key(settings.secret_key.get_secret_value()))
        return cls(_key_file(settings.home))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretKeyError(
                "a stored secret cannot be decrypted with this server's key (COSTLAKE_SECRET_KEY or <home>/secret.key "
                "changed, or this process uses another key than the one that stored it); set the original key, or "
                "store the credential again by updating the billing source"
            ) from None
