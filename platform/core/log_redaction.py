"""Log filter that redacts secrets before any handler sees them."""

from __future__ import annotations

import logging
import re

# Exchange signatures, API keys in headers/params, bearer tokens, bot tokens in URLs.
_PATTERNS = [
    re.compile(r"(?i)(signature=)[0-9a-f]{16,}"),
    re.compile(r"(?i)(X-MBX-APIKEY['\"]?\s*[:=]\s*['\"]?)[A-Za-z0-9]{8,}"),
    re.compile(r"(?i)((?:api[_-]?key|api[_-]?secret|secret|password|token)['\"]?\s*[:=]\s*['\"]?)[^\s'\",&}]+"),
    re.compile(r"(?i)(Bearer\s+)[A-Za-z0-9._\-]+"),
    re.compile(r"(/bot)\d+:[A-Za-z0-9_\-]+"),
]


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(r"\1[redacted]", text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not drop the record
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True
