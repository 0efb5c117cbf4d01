"""The one-time import of an earlier release's SQLite history (``history.sqlite3``) into the store."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

_log = logging.getLogger("research.store")


def _read_legacy(path: Path, columns: list[str]) -> list[dict[str, Any]]:
    """Every row of ``jobs`` in the SQLite file ``path`` (opened read-only), oldest first; missing columns None."""
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=10)) as conn:
        present = {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
        if "id" not in present:
            return []
        names = [name for name in columns if name in present]  # ours, never user input
        rows = conn.execute(f"SELECT {', '.join(names)} FROM jobs ORDER BY rowid").fetchall()
    return [{**dict.fromkeys(columns), **dict(zip(names, row))} for row in rows]


class HistoryTables(Protocol):
    """What the import writes to: the history's engine and tables (a :class:`research.store.ReportStore`)."""

    engine: sa.Engine
    jobs: sa.Table
    meta: sa.Table
    path: Path | None
    is_postgres: bool


def import_legacy(store: HistoryTables, legacy: Path) -> int:
    """Copy the jobs of an earlier release's SQLite history into ``store`` once (rows already there stay as they are).

    Claimed in ``store_meta`` in the copy's transaction, so two processes opening together import it once,
    and never repeated, so a report deleted since does not come back. Returns how many jobs were added.
    """
    legacy, key = legacy.resolve(), f"imported:{legacy.resolve()}"
    if not legacy.is_file() or legacy == store.path:
        return 0
    with store.engine.connect() as conn:
        if conn.execute(sa.select(store.meta.c.key).where(store.meta.c.key == key)).first() is not None:
            return 0
    try:
        rows = _read_legacy(legacy, list(store.jobs.columns.keys()))
    except sqlite3.Error as exc:  # unreadable: keep working, try again at the next start
        _log.warning("could not read the earlier history %s: %s", legacy, exc)
        return 0
    dialect = postgresql if store.is_postgres else sqlite
    count = sa.select(sa.func.count()).select_from(store.jobs)
    with store.engine.begin() as conn:
        claim = dialect.insert(store.meta).values(key=key, value=json.dumps({"at": time.time(), "rows": len(rows)}))
        if conn.execute(claim.on_conflict_do_nothing()).rowcount == 0:
            return 0  # another process imported it first
        before = conn.execute(count).scalar_one()
        if rows:
            conn.execute(dialect.insert(store.jobs).on_conflict_do_nothing(), rows)
        added = conn.execute(count).scalar_one() - before
    _log.info("imported %d of the %d jobs of the earlier history %s", added, len(rows), legacy)
    return added
