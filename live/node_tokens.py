"""Who may link a server into this cluster from another machine: a token signed with the cluster's shared secret.

A district server opening its uplink to its province's server (``GIAOBAN_UPSTREAM_URL``) says who it is with
``<node id>.<expires>.<mac>``: an HMAC-SHA256 of the node id and the expiry under the secret both servers were
given (``GIAOBAN_CLUSTER_SECRET``). A fresh token is signed for every connection and lives minutes, so one copied
from a log or a proxy is soon worth nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re

TOKEN_SECONDS = 300
NODE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,100}")


class BadNodeToken(ValueError):
    """The token is malformed, expired, or not signed with our secret (the message says which, for the log)."""


def sign(secret: str, node_id: str, now: float) -> str:
    expires = int(now + TOKEN_SECONDS)
    return f"{node_id}.{expires}.{_mac(secret, node_id, expires)}"


def verify(secret: str, token: str, now: float) -> str:
    """The node id a token names, if it holds."""
    if not secret:
        raise BadNodeToken("this server takes no links from other servers (no cluster secret is set)")
    parts = token.rsplit(".", 2)
    if len(parts) != 3 or not NODE_ID.fullmatch(parts[0]) or not parts[1].isdigit() or len(parts[1]) > 12:
        raise BadNodeToken("malformed token")
    node_id, expires, mac = parts[0], int(parts[1]), parts[2]
    if not hmac.compare_digest(mac, _mac(secret, node_id, expires)):
        raise BadNodeToken("wrong signature (not the cluster secret)")
    if not now <= expires <= now + 2 * TOKEN_SECONDS:
        raise BadNodeToken("expired token (or the two servers' clocks differ by minutes)")
    return node_id


def _mac(secret: str, node_id: str, expires: int) -> str:
    return hmac.new(secret.encode(), f"node-link|{node_id}|{expires}".encode(), hashlib.sha256).hexdigest()
