"""Which STUN/TURN servers browsers and the relay are told about, with credentials.

A TURN server configured with a shared secret (coturn's ``use-auth-secret``, the "TURN REST API" scheme) takes
time-limited credentials the service makes itself: the user name is the expiry time (Unix seconds) and a label, the
password its HMAC-SHA1 under the secret, in base64. Nothing is stored, and a leaked credential dies by itself.
Otherwise a fixed user name and password are handed out as configured.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from aiortc import RTCIceServer

CREDENTIAL_SECONDS = 24 * 3600  # a TURN allocation is refreshed with the same credentials for the whole meeting


@dataclass(frozen=True)
class IceSettings:
    urls: tuple[str, ...] = ()
    username: str = ""
    password: str = ""
    secret: str = ""  # the TURN server's shared secret: time-limited credentials instead of the two above

    def credentials(self, now: float, label: str = "giaoban") -> tuple[str, str]:
        """The user name and password to hand out at ``now`` (Unix seconds); empty when none are configured."""
        if not self.secret:
            return self.username, self.password
        username = f"{int(now) + CREDENTIAL_SECONDS}:{label}"
        digest = hmac.new(self.secret.encode(), username.encode(), hashlib.sha1).digest()
        return username, base64.b64encode(digest).decode()

    def for_browser(self, now: float, label: str = "giaoban") -> list[dict[str, Any]]:
        if not self.urls:
            return []
        server: dict[str, Any] = {"urls": list(self.urls)}
        username, password = self.credentials(now, label)
        if username:
            server.update(username=username, credential=password)
        return [server]

    def for_aiortc(self, now: float, label: str = "giaoban") -> list[RTCIceServer]:
        if not self.urls:
            return []
        username, password = self.credentials(now, label)
        return [RTCIceServer(urls=list(self.urls), username=username or None, credential=password or None)]
