"""Logging filter that keeps resident ID numbers out of every log line."""

import json
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


class TextFormatter(logging.Formatter):
    """The plain format, redacted as a whole (an exception's text included)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


# Attributes every LogRecord has: anything else on a record came from `extra=` and is logged.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "correlation_id",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line (production, LOG_FORMAT=json): time (UTC), level, logger,
    message, correlation_id, process, the record's `extra` fields and any exception. The whole
    line is redacted, so an ID in an extra field or a traceback is masked too."""

    def format(self, record: logging.LogRecord) -> str:
        from datetime import UTC, datetime

        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": getattr(record, "correlation_id", None) or None,
            "process": record.process,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        if entry["correlation_id"] == "-":
            entry["correlation_id"] = None
        return redact(json.dumps(entry, default=str, ensure_ascii=False))
