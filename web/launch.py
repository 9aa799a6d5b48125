"""The ``giaoban`` console script: the command line, or one clear line when the installed media stack won't do.

``web.cli`` imports the relay, and the relay checks at import that aiortc and its kin still have what it reaches
into (``conference.relay.compat``); that check, or a missing package, must reach the operator as a sentence, not
as a traceback. A ``--workers`` parent starts its workers' preloaded fork server first (``web/preload.py``), so
that it imports the service while this process does.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    from web.preload import forking, runs_workers

    arguments = list(sys.argv[1:] if argv is None else argv)
    if runs_workers(arguments):
        forking()
    try:
        from web.cli import main as run
    except ImportError as exc:
        print(f"giaoban: cannot start: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return run(arguments)
