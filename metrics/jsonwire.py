"""JSON on the ingestion path: orjson, several times faster than the standard library.

Bodies are parsed strictly as RFC 8259 JSON: NaN, Infinity and unpaired surrogates, which
PostgreSQL would refuse to store anyway, make the body invalid (a 400), and integers beyond
64 bits become floats, as in the JavaScript clients that send most events. Encoding falls
back to the standard library for what orjson refuses (such integers from a CSV file).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

import orjson

loads = orjson.loads


def _default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


_std_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_default).encode


def dumps(value: Any) -> str:
    """Compact JSON text of JSON types, dataclasses and datetimes (ISO 8601); any other
    value is written as its str()."""
    try:
        return orjson.dumps(value, default=str).decode()
    except TypeError:
        return _std_dumps(value)
