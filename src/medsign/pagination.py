"""Opaque cursors for list endpoints (keyset pagination).

A cursor is the url-safe base64 of a small JSON array (the sort key of the last item
returned). Clients must treat it as opaque; a cursor that does not decode is a 422.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from medsign.errors import InvalidInput


def encode_cursor(*key: Any) -> str:
    """The cursor that resumes after an item whose sort key is ``key``."""
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    """The sort key inside ``cursor`` (``arity`` items); InvalidInput when malformed."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("The cursor is not valid; pass back `next_cursor` as is.") from exc
    if not isinstance(key, list) or len(key) != arity:
        raise InvalidInput("The cursor is not valid; pass back `next_cursor` as is.")
    return key
