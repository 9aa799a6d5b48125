"""Detached Ed25519 signatures for exported files, so that a changed file is detected.

The key pair is created once (SET NX) and kept in the store, so every server process signs with the same key and
the public key can be published (``GET /api/signing-key``). A signature file holds one line: the base64 of the
64-byte signature.

Key layout:
- ``PRIVATE_KEY`` (string): the private key, PKCS#8 PEM.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from redis.asyncio import Redis

PRIVATE_KEY = "giaoban:signing-key"


class Signer:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._key: Ed25519PrivateKey | None = None  # the key never changes once made: read it once

    async def private_key(self) -> Ed25519PrivateKey:
        if self._key is None:
            stored = await self._redis.get(PRIVATE_KEY)
            if stored is None:
                pem = Ed25519PrivateKey.generate().private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
                await self._redis.set(PRIVATE_KEY, pem.decode(), nx=True)  # another process may have won
                stored = await self._redis.get(PRIVATE_KEY)
            key = serialization.load_pem_private_key(stored.encode(), password=None)
            assert isinstance(key, Ed25519PrivateKey)
            self._key = key
        return self._key

    async def sign(self, data: bytes) -> bytes:
        """The signature file's content for ``data``."""
        return base64.b64encode((await self.private_key()).sign(data)) + b"\n"

    async def public_key_pem(self) -> str:
        return public_pem((await self.private_key()).public_key())


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def fingerprint(public_key_pem: str) -> str:
    """SHA-256 of the raw public key, grouped for reading aloud over the phone."""
    key = serialization.load_pem_public_key(public_key_pem.encode())
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashlib.sha256(raw).hexdigest().upper()
    return ":".join(digest[i : i + 4] for i in range(0, 32, 4))


def verify(data: bytes, signature_file: bytes, public_key_pem: str) -> bool:
    try:
        signature = base64.b64decode(signature_file.strip(), validate=True)
        key = serialization.load_pem_public_key(public_key_pem.encode())
    except (binascii.Error, ValueError):
        return False
    if not isinstance(key, Ed25519PublicKey):
        return False
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
