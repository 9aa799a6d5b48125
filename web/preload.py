"""The workers' preloaded ancestor: the service imported once, every worker a fork of it.

A fresh interpreter takes about a second to import the service (aiortc, aiohttp, the templates' machinery); a
``--workers`` parent that started each worker that way kept ``giaoban serve`` and every restart of a killed
worker waiting for it. Instead the parent asks the standard library's fork server to import the service once,
while the parent itself starts the store, and each worker is then a fork of that server: listening a few tenths of
a second later. The fork server is single-threaded and runs no event loop, so forking it is safe (forking the
parent, which runs both, is not). It leaves when the parent does; the workers then get SIGTERM (they ask for it).

This module is light (the standard library and ``web.config``) so that the console script can start the fork
server before it imports the rest (``web/launch.py``).
"""

from __future__ import annotations

import argparse
import multiprocessing
import multiprocessing.forkserver
import os
from collections.abc import Sequence
from multiprocessing.context import ForkServerContext

WORKER_OF = "GIAOBAN_WORKER_OF"  # in a worker's environment: the parent's pid
PRELOADED = ["web.cli", "web.app"]  # the command line and the whole service


def forking() -> ForkServerContext:
    """The context to start workers in; its fork server starts importing now if it has not yet."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOADED)
    multiprocessing.forkserver.ensure_running()
    return context


def runs_workers(argv: Sequence[str]) -> bool:
    """Whether ``giaoban`` with these arguments becomes a ``--workers`` parent (a wrong setting: no, and the
    command line says what is wrong)."""
    if list(argv[:1]) != ["serve"] or WORKER_OF in os.environ or {"-h", "--help"} & set(argv):
        return False
    from web.config import ConfigError, build_config

    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    parser.add_argument("--workers")
    try:
        known, _ = parser.parse_known_args(argv[1:])
        return build_config({"workers": known.workers}, os.environ).worker_count > 1
    except (ConfigError, argparse.ArgumentError):
        return False
