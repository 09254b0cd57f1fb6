"""SQL the ORM makes slow at scale, kept in one place.

An ORM ``__in`` with thousands of values prepares and compiles each one; that was a
third of an import (bench/ingest.py) and a sixth of forming a push batch
(bench/push.py), against a tenth for the SQL itself.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from django.db import connection


def among(column: str, values: Collection[Any]) -> tuple[str, Any]:
    """``column`` is one of ``values``: SQL with one %s placeholder and its parameter
    (an array on PostgreSQL, a JSON array read by json_each on SQLite)."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", list(values)
    return f"{column} IN (SELECT value FROM json_each(%s))", json.dumps(list(values))
