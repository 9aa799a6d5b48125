"""The service's log: one line per event an operator cares about, as text or as JSON for a log collector.

Libraries that talk a lot at INFO (aioice's every candidate pair, aiortc's every track, fontTools' every glyph
while writing a PDF, aiohttp's every request) are held at WARNING, so that what remains is the service's own
story: started, stopped, a meeting opened or ended, the store or a background loop in trouble.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

CHATTY = ("aioice", "aiortc", "fontTools", "PIL", "asyncio", "hpack", "urllib3", "aiosmtpd", "mail.log")
ACCESS = "aiohttp.access"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, and the traceback if there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str, log_format: str = "text", access_log: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet = max(logging.WARNING, logging.getLevelName(level))
    for name in CHATTY:
        logging.getLogger(name).setLevel(quiet)
    logging.getLogger(ACCESS).setLevel(logging.INFO if access_log else logging.WARNING)
