"""``python -m web``: the ``giaoban`` command, as the console script runs it (``web/launch.py``)."""

import sys

from web.launch import main

sys.exit(main())
