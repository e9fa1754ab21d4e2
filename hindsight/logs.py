"""Keep share-link tokens out of logs.

A stakeholder link's token is the only thing standing between a reader and a postmortem, so
the request lines that uvicorn, runserver and Django's request logger write show
`/s/[redacted]/` in its place. The filter rewrites the record's message arguments (uvicorn's
access formatter reads them one by one) and its message.

The same goes for a `secret=` in a query string: a ticket tracker that cannot sign its webhook
calls (Jira) proves itself with the secret in the address.
"""

from __future__ import annotations

import logging
import re

SHARE_TOKEN = re.compile(r"/s/[^/?#\s\"']+")
REDACTED = "/s/[redacted]"
QUERY_SECRET = re.compile(r"([?&]secret=)[^&#\s\"']+")


def redact_share_tokens(text: str) -> str:
    return QUERY_SECRET.sub(r"\1[redacted]", SHARE_TOKEN.sub(REDACTED, text))


def _redacted(value):
    return redact_share_tokens(value) if isinstance(value, str) else value


class RedactShareTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_share_tokens(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _redacted(value) for key, value in record.args.items()}
        return True
