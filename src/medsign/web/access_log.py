"""The access log without secrets: signing links are bearer tokens (DESIGN.md
"Security floor": no personal data, no secrets in logs)."""

from __future__ import annotations

import logging
import re


class RedactLinks(logging.Filter):
    """Replaces the token of ``/s/<token>`` paths in access-log arguments with ``***``."""

    _link = re.compile(r"/s/[A-Za-z0-9_-]{20,}")

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place; never drops a record."""
        if isinstance(record.args, tuple):
            record.args = tuple(
                self._link.sub("/s/***", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def install() -> None:
    """Add the filter to uvicorn's access logger once (each web process calls this)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactLinks) for f in logger.filters):
        logger.addFilter(RedactLinks())
