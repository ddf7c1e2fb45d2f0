"""Logging filter that keeps resident ID numbers out of every log line."""

import logging
import re

# 18-character resident ID: 17 digits and a check character (digit or X).
RESIDENT_ID = re.compile(
    r"(?<![0-9A-Za-z])\d{6}(?:18|19|20)\d{2}[01]\d[0-3]\d\d{3}[\dXx](?![0-9A-Za-z])"
)


def redact(text: str) -> str:
    return RESIDENT_ID.sub(lambda m: "*" * 14 + m.group(0)[-4:], text)


class RedactResidentIds(logging.Filter):
    """Rewrites the formatted message so no handler ever sees a full ID."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
