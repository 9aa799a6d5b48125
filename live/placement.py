"""Which node is a meeting's origin: a lease in Redis, claimed when the first unit joins, renewed while it lives.

The origin holds the room (its rules). The first node to see a join for a meeting with no origin chooses the
least loaded live node (itself, unless clearly busier) and claims the lease for it (``SET NX``: of two nodes
seeing the first joins at once, one wins and both use the winner). The origin renews its leases with every
heartbeat; when it dies they run out, and the next join (its browsers reconnect by themselves) places the room
afresh. A lease whose holder is known gone (its heartbeat key expired or removed) is taken at once, without
waiting for it to run out.

Keys: ``giaoban:room:<meeting>:origin`` (string, node id, expires ``LEASE_SECONDS`` after the last renewal).
"""

from __future__ import annotations

from collections.abc import Iterable

from redis.asyncio import Redis

from live.nodes import NODE_KEY, list_nodes

ORIGIN_KEY = "giaoban:room:{}:origin"
LEASE_SECONDS = 8.0
PLACEMENT_MARGIN = 10  # endpoints: a node this much busier than the least busy places a new meeting elsewhere

# Renew the leases this node holds (one gone with a store restart is taken again); say which another node holds
# now (it took the room meanwhile).
_RENEW = """
local lost = {}
for i, key in ipairs(KEYS) do
  local holder = redis.call('GET', key)
  if holder == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
  elseif not holder then
    redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
  else
    table.insert(lost, i)
  end
end
return lost
"""
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
# Take the lease from a holder whose heartbeat is gone (compare and set, so two takers cannot both win).
_TAKE_OVER = """
if redis.call('GET', KEYS[1]) == ARGV[1] and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return redis.call('GET', KEYS[1])
"""


class Placement:
    def __init__(self, redis: Redis, node_id: str) -> None:
        self._redis = redis
        self.node_id = node_id
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._take_over = redis.register_script(_TAKE_OVER)

    async def origin_of(self, meeting_id: str) -> str:
        """The meeting's origin node, placing it now when it has none (or its holder is gone)."""
        key = ORIGIN_KEY.format(meeting_id)
        holder = await self._redis.get(key)
        if holder is None:
            chosen = await self._least_loaded()
            await self._redis.set(key, chosen, nx=True, px=int(LEASE_SECONDS * 1000))
            holder = await self._redis.get(key)
        elif not await self._redis.exists(NODE_KEY.format(holder)):
            chosen = await self._least_loaded(excluding=holder)
            holder = await self._take_over(keys=[key, NODE_KEY.format(holder)],
                                           args=[holder, chosen, int(LEASE_SECONDS * 1000)])  # fmt: skip
        return str(holder or self.node_id)

    async def renew(self, meeting_ids: Iterable[str]) -> list[str]:
        """Renew this node's leases; returns the meetings whose lease another node holds now."""
        meetings = list(meeting_ids)
        if not meetings:
            return []
        lost = await self._renew(keys=[ORIGIN_KEY.format(m) for m in meetings],
                                 args=[self.node_id, int(LEASE_SECONDS * 1000)])  # fmt: skip
        return [meetings[int(index) - 1] for index in lost]

    async def release(self, meeting_id: str) -> None:
        await self._release(keys=[ORIGIN_KEY.format(meeting_id)], args=[self.node_id])

    async def _least_loaded(self, excluding: str = "") -> str:
        """The node with the fewest endpoints; this one unless another has clearly fewer (the browser is here: no
        hop, and a heartbeat's figures are up to 2 s old, this very browser counted or not)."""
        # a district server linked in from elsewhere holds no rooms: it has not the meetings' store
        nodes = [node for node in await list_nodes(self._redis) if node.id != excluding and not node.via]
        if not nodes:
            return self.node_id
        least = min(nodes, key=lambda node: (node.load.endpoints, node.id))
        here = next((node for node in nodes if node.id == self.node_id), None)
        if here is not None and here.load.endpoints - least.load.endpoints < PLACEMENT_MARGIN:
            return here.id
        return least.id
