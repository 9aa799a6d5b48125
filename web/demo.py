"""``--demo``: the Lào Cai province and three demo accounts, loaded only into an empty store."""

from __future__ import annotations

import logging

from scheduler.directory.demo import demo_units
from scheduler.directory.store import UnitStore
from web.accounts import AccountStore

log = logging.getLogger(__name__)

DEMO_ACCOUNTS = (("admin", "admin", "demo-admin"), ("host", "host", "demo-host"),
                 ("secretary", "secretary", "demo-secretary"))  # fmt: skip


async def load_demo(units: UnitStore, accounts: AccountStore) -> bool:
    """Load the demo into an empty store; leave a store that holds anything alone. True if loaded."""
    if await units.count() or await accounts.count():
        log.info("demo: the store already holds data, so the demo province was not loaded")
        return False
    result = await units.import_units(demo_units())
    for username, role, password in DEMO_ACCOUNTS:
        await accounts.add(username, role, password)
    log.info("demo: loaded the Lào Cai province (%d units) and the demo accounts", result.created)
    return True


def demo_accounts_text() -> str:
    lines = ["Demo accounts (for trying giaoban out; do not keep them on a real server):"]
    lines += [f"  {role:<10} user {username!r:<12} password {password!r}" for username, role, password in DEMO_ACCOUNTS]
    return "\n".join(lines)
