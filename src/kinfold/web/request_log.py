"""What the server log says about a refused request: one line. It never hides a server error's traceback."""

from __future__ import annotations

import logging


class DenialsOnOneLine(logging.Filter):
    """On ``django.request``: a 4xx answer (Django logs a 403 refusal with its exception) loses the stack trace;
    a 5xx keeps it. The refusal is routine, and the audit trail already records it with its reason."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
