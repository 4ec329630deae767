"""Where the fake's model state lives: in memory, or in a SQLite file shared by processes.

The article runs start, detect and stop as three separate commands, so the CLI keeps model state in
``--state-dir`` (default ``.rclsim/`` in the current folder; env ``RCLSIM_STATE_DIR``). The Python API
and tests default to fresh in-memory state, so they never write into a user's repository.

SQLite (standard library) makes concurrent processes safe: every change runs in a ``BEGIN IMMEDIATE``
transaction, so of twenty processes that try to start the same stopped model, exactly one sees it
stopped. A file that is not rclsim's state (corrupt, or another program's database) is reported and
left alone; ``rclsim reset`` deletes it on request.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .errors import RclsimError

__all__ = ["VersionState", "Usage", "StateStore", "StateError", "STATE_FILE_NAME"]

STATE_FILE_NAME = "state.sqlite3"
_APP = "rclsim-state"
_SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rclsim_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS versions (
    arn TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    status_message TEXT,
    changed_at REAL NOT NULL,
    next_status TEXT,
    ready_at REAL,
    min_iu INTEGER,
    max_iu INTEGER
);
CREATE TABLE IF NOT EXISTS usage (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    arn TEXT NOT NULL,
    started_at REAL NOT NULL,
    stopped_at REAL,
    inference_units INTEGER NOT NULL
);
"""


class StateError(RclsimError):
    """The state file cannot be used (corrupt, foreign, unreadable)."""


@dataclass(frozen=True)
class VersionState:
    """One model version's lifecycle state. ``next_status`` takes over at ``ready_at``."""

    arn: str
    status: str
    changed_at: float
    status_message: str | None = None
    next_status: str | None = None
    ready_at: float | None = None
    min_iu: int | None = None
    max_iu: int | None = None

    def evolve(self, **changes: object) -> VersionState:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Usage:
    """One stretch of RUNNING time: billed as ``inference_units`` x hours."""

    arn: str
    started_at: float
    stopped_at: float | None
    inference_units: int


class Transaction:
    """Reads and writes inside one exclusive transaction."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def get(self, arn: str) -> VersionState | None:
        row = self._conn.execute(
            "SELECT arn, status, changed_at, status_message, next_status, ready_at, min_iu, max_iu "
            "FROM versions WHERE arn = ?",
            (arn,),
        ).fetchone()
        return VersionState(*row) if row else None

    def all(self) -> list[VersionState]:
        rows = self._conn.execute(
            "SELECT arn, status, changed_at, status_message, next_status, ready_at, min_iu, max_iu "
            "FROM versions ORDER BY arn"
        ).fetchall()
        return [VersionState(*row) for row in rows]

    def put(self, state: VersionState) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO versions "
            "(arn, status, changed_at, status_message, next_status, ready_at, min_iu, max_iu) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                state.arn,
                state.status,
                state.changed_at,
                state.status_message,
                state.next_status,
                state.ready_at,
                state.min_iu,
                state.max_iu,
            ),
        )

    def open_usage(self, arn: str, started_at: float, inference_units: int) -> None:
        self._conn.execute(
            "INSERT INTO usage (arn, started_at, stopped_at, inference_units) VALUES (?, ?, NULL, ?)",
            (arn, started_at, inference_units),
        )

    def close_usage(self, arn: str, stopped_at: float) -> None:
        self._conn.execute(
            "UPDATE usage SET stopped_at = ? WHERE arn = ? AND stopped_at IS NULL", (stopped_at, arn)
        )

    def usage(self) -> list[Usage]:
        rows = self._conn.execute(
            "SELECT arn, started_at, stopped_at, inference_units FROM usage ORDER BY id"
        ).fetchall()
        return [Usage(*row) for row in rows]


class _MemoryTransaction:
    """The same reads and writes over plain dicts, for in-memory state: writes are buffered and applied
    only when the transaction ends without an exception, as SQLite would."""

    def __init__(self, versions: dict[str, VersionState], usage: list[list[Any]]):
        self._versions = versions
        self._usage = usage
        self._writes: dict[str, VersionState] = {}
        self._ops: list[tuple[str, Any]] = []

    def get(self, arn: str) -> VersionState | None:
        return self._writes.get(arn) or self._versions.get(arn)

    def all(self) -> list[VersionState]:
        merged = {**self._versions, **self._writes}
        return [merged[arn] for arn in sorted(merged)]

    def put(self, state: VersionState) -> None:
        self._writes[state.arn] = state

    def open_usage(self, arn: str, started_at: float, inference_units: int) -> None:
        self._ops.append(("open", (arn, started_at, inference_units)))

    def close_usage(self, arn: str, stopped_at: float) -> None:
        self._ops.append(("close", (arn, stopped_at)))

    def usage(self) -> list[Usage]:
        rows = [list(r) for r in self._usage]
        self._apply(rows)
        return [Usage(*r) for r in rows]

    def _apply(self, rows: list[list[Any]]) -> None:
        for kind, args in self._ops:
            if kind == "open":
                arn, started_at, units = args
                rows.append([arn, started_at, None, units])
            else:
                arn, stopped_at = args
                for row in rows:
                    if row[0] == arn and row[2] is None:
                        row[2] = stopped_at

    def commit(self) -> None:
        self._versions.update(self._writes)
        self._apply(self._usage)


class StateStore:
    """Model state in memory (``path=None``) or in ``DIR/state.sqlite3`` (``path=DIR``)."""

    def __init__(self, state_dir: str | os.PathLike[str] | None = None):
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self._lock = threading.RLock()
        # In memory, no other process can see the state: plain dicts, no SQLite on the detect path.
        self._versions: dict[str, VersionState] = {}
        self._usage: list[list[Any]] = []
        self._conn = self._connect() if self.state_dir is not None else None

    @property
    def path(self) -> Path | None:
        return self.state_dir / STATE_FILE_NAME if self.state_dir is not None else None

    def describe(self) -> str:
        return str(self.path) if self.path is not None else "memory"

    def _connect(self) -> sqlite3.Connection:
        path = self.path
        assert path is not None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), isolation_level=None, timeout=60, check_same_thread=False)
            conn.execute("BEGIN IMMEDIATE")
            try:
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if tables and "rclsim_meta" not in tables:
                    raise StateError(
                        f"{self.describe()} is a database that is not rclsim's state; move it away or run "
                        f"'rclsim reset' to delete it"
                    )
                for statement in _SCHEMA.split(";"):  # executescript would commit early
                    if statement.strip():
                        conn.execute(statement)
                meta = dict(conn.execute("SELECT key, value FROM rclsim_meta").fetchall())
                if not meta:
                    conn.execute(
                        "INSERT INTO rclsim_meta VALUES ('app', ?), ('schema', ?)", (_APP, _SCHEMA_VERSION)
                    )
                elif meta.get("app") != _APP or meta.get("schema") != _SCHEMA_VERSION:
                    raise StateError(
                        f"{self.describe()} holds state of another program or rclsim version "
                        f"({meta}); run 'rclsim reset' to start over"
                    )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return conn
        except sqlite3.DatabaseError as exc:
            raise StateError(
                f"{self.describe()} is corrupt or not rclsim's state ({exc}); nothing was changed. "
                f"Run 'rclsim reset' to delete it and start over"
            ) from None
        except OSError as exc:
            raise StateError(f"cannot use state folder {self.state_dir}: {exc.strerror or exc}") from None

    def settled(self, arn: str) -> VersionState | None:
        """The stored state of ``arn`` when it can be read without a transaction: kept in memory
        (no other process shares it) and with no transition pending. None otherwise: ask a
        transaction. The detect path reads its model's status here on every call."""
        if self._conn is not None:
            return None
        state = self._versions.get(arn)
        return state if state is not None and state.next_status is None else None

    def never_stored(self, arn: str) -> bool:
        """True when ``arn`` has no state here and none can appear from elsewhere: kept in memory and
        never written. Its status is then the declared one."""
        return self._conn is None and arn not in self._versions

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        """An exclusive transaction: committed when the block ends, rolled back on an exception."""
        if self._conn is None:
            with self._lock:
                txn = _MemoryTransaction(self._versions, self._usage)
                yield txn
                txn.commit()
            return
        with self._lock:
            # Transactions never nest here: one still open was cut short (Ctrl-C between BEGIN and
            # ROLLBACK, say). Roll it back rather than fail every later change.
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise StateError(f"{self.describe()}: {exc}") from None
            try:
                yield Transaction(self._conn)
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()

    @staticmethod
    def reset(state_dir: str | Path) -> bool:
        """Delete the state file in ``state_dir`` (whatever it holds). True when there was one."""
        path = Path(state_dir) / STATE_FILE_NAME
        removed = False
        for candidate in (path, path.with_name(path.name + "-journal"), path.with_name(path.name + "-wal")):
            try:
                candidate.unlink()
                removed = removed or candidate == path
            except FileNotFoundError:
                pass
        return removed
