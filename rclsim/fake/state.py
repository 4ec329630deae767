"""Where the fake's model state lives: in memory, or in a SQLite file shared by processes.

The article runs start, detect and stop as three separate commands, so the CLI keeps model state in
``--state-dir`` (default ``.rclsim/`` in the current folder; env ``RCLSIM_STATE_DIR``). The Python API
and tests default to fresh in-memory state, so they never write into a user's repository.

SQLite (standard library) makes concurrent processes safe: every change runs in a ``BEGIN IMMEDIATE``
transaction, so of twenty processes that try to start the same stopped model, exactly one sees it
stopped. A file that is not rclsim's state (corrupt, or another program's database) is reported and
left alone; ``rclsim reset`` deletes it on request.

What goes wrong around the file ends in one :class:`StateError` line that names it and says what to do:

* damaged (garbage over its header or any page, found by ``PRAGMA quick_check`` when the store opens
  it, or by SQLite later): run ``rclsim reset --state-dir DIR``;
* read-only, or in a folder this process cannot write (SQLite keeps a journal beside the file): make it
  writable or use another ``--state-dir`` (checked when the store opens: every command may write);
* a table dropped (``usage``, the cost meter's record of RUNNING time, or ``versions``): an error, not a
  warning, and nothing is recreated: the record is gone and the user decides (restore a copy, or
  reset and start the meter at zero);
* deleted or replaced while a store has it open (``rclsim reset`` while ``rclsim serve`` runs): the
  store notices before its next transaction (one ``stat`` of the path) and opens the file the path
  names now, or a fresh one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rclsim.service.errors import RclsimError

__all__ = ["VersionState", "Usage", "Resource", "StateStore", "StateError", "STATE_FILE_NAME"]

STATE_FILE_NAME = "state.sqlite3"
_APP = "rclsim-state"
_SCHEMA_VERSION = "1"

#: Resources made through the API (issue 12); added to older files when they are opened.
_RESOURCES_TABLE = """CREATE TABLE IF NOT EXISTS resources (
    kind TEXT NOT NULL,
    arn TEXT NOT NULL,
    parent TEXT,
    created_at REAL NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (kind, arn)
)"""

_SCHEMA = (
    _RESOURCES_TABLE
    + """;
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
)


class StateError(RclsimError):
    """The state file cannot be used (corrupt, foreign, unreadable)."""

    #: What a client of the local endpoint is told (an rclsim code: the fake's own file is at fault).
    wire_code = "StateFileException"


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


@dataclass(frozen=True)
class Resource:
    """A resource made through the API (project, dataset, version, policy, tags): its ``doc`` is a
    JSON-able dict owned by the module of that ``kind``; ``parent`` is the project ARN of a dataset,
    version or policy. Statuses that change with time live in the doc as (Status, NextStatus, ReadyAt)
    and are resolved when read, as version statuses are."""

    kind: str
    arn: str
    parent: str | None
    created_at: float
    doc: dict[str, Any]


def _resource_row(row: Any) -> Resource:
    kind, arn, parent, created_at, doc = row
    return Resource(kind, arn, parent, created_at, json.loads(doc))


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

    def delete(self, arn: str) -> None:
        """Forget a version's state (DeleteProjectVersion); its billed usage stays."""
        self._conn.execute("DELETE FROM versions WHERE arn = ?", (arn,))

    def get_resource(self, kind: str, arn: str) -> Resource | None:
        row = self._conn.execute(
            "SELECT kind, arn, parent, created_at, doc FROM resources WHERE kind = ? AND arn = ?", (kind, arn)
        ).fetchone()
        return _resource_row(row) if row else None

    def put_resource(self, resource: Resource) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO resources (kind, arn, parent, created_at, doc) VALUES (?, ?, ?, ?, ?)",
            (resource.kind, resource.arn, resource.parent, resource.created_at, json.dumps(resource.doc)),
        )

    def delete_resource(self, kind: str, arn: str) -> None:
        self._conn.execute("DELETE FROM resources WHERE kind = ? AND arn = ?", (kind, arn))

    def resources(self, kind: str, parent: str | None = None) -> list[Resource]:
        """Every resource of ``kind`` (of ``parent``, when given), oldest first."""
        sql = "SELECT kind, arn, parent, created_at, doc FROM resources WHERE kind = ?"
        args: tuple[Any, ...] = (kind,)
        if parent is not None:
            sql += " AND parent = ?"
            args += (parent,)
        rows = self._conn.execute(sql + " ORDER BY created_at, arn", args).fetchall()
        return [_resource_row(row) for row in rows]

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

    def __init__(
        self,
        versions: dict[str, VersionState],
        usage: list[list[Any]],
        resources: dict[tuple[str, str], tuple[tuple[Any, ...], str]] | None = None,
    ):
        self._versions = versions
        self._usage = usage
        self._writes: dict[str, VersionState | None] = {}
        self._ops: list[tuple[str, Any]] = []
        # Resources are kept as (row, JSON text): every read gets its own copy of the doc, as from SQLite.
        self._resources = resources if resources is not None else {}
        self._resource_writes: dict[tuple[str, str], tuple[tuple[Any, ...], str] | None] = {}

    def get(self, arn: str) -> VersionState | None:
        if arn in self._writes:
            return self._writes[arn]
        return self._versions.get(arn)

    def all(self) -> list[VersionState]:
        merged = {**self._versions, **self._writes}
        return [state for arn in sorted(merged) if (state := merged[arn]) is not None]

    def put(self, state: VersionState) -> None:
        self._writes[state.arn] = state

    def delete(self, arn: str) -> None:
        self._writes[arn] = None

    def _resource(self, key: tuple[str, str]) -> Resource | None:
        stored = self._resource_writes[key] if key in self._resource_writes else self._resources.get(key)
        if stored is None:
            return None
        (kind, arn, parent, created_at), doc = stored
        return Resource(kind, arn, parent, created_at, json.loads(doc))

    def get_resource(self, kind: str, arn: str) -> Resource | None:
        return self._resource((kind, arn))

    def put_resource(self, resource: Resource) -> None:
        row = (resource.kind, resource.arn, resource.parent, resource.created_at)
        self._resource_writes[(resource.kind, resource.arn)] = (row, json.dumps(resource.doc))

    def delete_resource(self, kind: str, arn: str) -> None:
        self._resource_writes[(kind, arn)] = None

    def resources(self, kind: str, parent: str | None = None) -> list[Resource]:
        keys = {k for k in (*self._resources, *self._resource_writes) if k[0] == kind}
        found = [r for k in keys if (r := self._resource(k)) is not None]
        found = [r for r in found if parent is None or r.parent == parent]
        return sorted(found, key=lambda r: (r.created_at, r.arn))

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
        for arn, state in self._writes.items():
            if state is None:
                self._versions.pop(arn, None)
            else:
                self._versions[arn] = state
        for key, stored in self._resource_writes.items():
            if stored is None:
                self._resources.pop(key, None)
            else:
                self._resources[key] = stored
        self._apply(self._usage)


_NEEDED_TABLES = {
    "versions": "the model statuses",
    "usage": "the cost meter's record of RUNNING time",
}

# SQLite's primary result codes (extended codes carry them in their low byte).
_SQLITE_READONLY, _SQLITE_CORRUPT, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 8, 11, 14, 26
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_FULL, _SQLITE_IOERR = 5, 6, 13, 10
_SQLITE_READONLY_DBMOVED = 1032


def _code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return int(code)
    text = str(exc).lower()  # Python 3.10: the message only
    for words, guess in (
        (("malformed", "not a database"), _SQLITE_CORRUPT),
        (("readonly", "read-only"), _SQLITE_READONLY),
        (("unable to open",), _SQLITE_CANTOPEN),
        (("is locked",), _SQLITE_BUSY),
        (("disk is full",), _SQLITE_FULL),
        (("disk i/o",), _SQLITE_IOERR),
    ):
        if any(w in text for w in words):
            return guess
    return None


def _writable(path: Path) -> bool:
    """Whether this process may write ``path`` (with its effective ids, as the open itself would)."""
    try:
        if os.access in os.supports_effective_ids:
            return os.access(path, os.W_OK, effective_ids=True)
        return os.access(path, os.W_OK)
    except OSError:
        return False


class StateStore:
    """Model state in memory (``path=None``) or in ``DIR/state.sqlite3`` (``path=DIR``).

    A file store checks before each transaction that its path still names the file it has open (one
    ``stat``, a few microseconds beside the transaction's tens): when ``rclsim reset`` deleted it, or
    another command has made a new one since, the store opens the file now at the path (creating it if
    there is none). The open connection keeps the old file's inode alive, so a new file cannot reuse its
    number and pass for it. Every SQLite failure becomes a :class:`StateError` that names the file and
    says what to do; a file that is damaged or lost a table is never repaired or recreated silently.
    """

    def __init__(self, state_dir: str | os.PathLike[str] | None = None):
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self._lock = threading.RLock()
        # In memory, no other process can see the state: plain dicts, no SQLite on the detect path.
        self._versions: dict[str, VersionState] = {}
        self._usage: list[list[Any]] = []
        self._resources: dict[tuple[str, str], Any] = {}
        self._conn: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None  # (st_dev, st_ino) of the open file
        self._closed = False
        if self.state_dir is not None:
            self._path_text = str(self.state_dir / STATE_FILE_NAME)
            self._conn, self._identity = self._connect()

    @property
    def path(self) -> Path | None:
        return self.state_dir / STATE_FILE_NAME if self.state_dir is not None else None

    def describe(self) -> str:
        return str(self.path) if self.path is not None else "memory"

    # -- errors ---------------------------------------------------------------------------------------
    def _reset_hint(self) -> str:
        return f"run 'rclsim reset --state-dir {shlex.quote(str(self.state_dir))}'"

    def _error(self, exc: sqlite3.Error) -> StateError:
        """One line for a SQLite failure on the state file: what is wrong, and what to do."""
        path = self.describe()
        detail = str(exc)
        code = _code(exc)
        primary = code & 0xFF if code is not None else None
        missing = detail.split("no such table:", 1)[1].strip() if "no such table:" in detail else None
        if missing is not None and missing in _NEEDED_TABLES:
            return self._lost_table(missing)
        if primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            return StateError(
                f"{path} is damaged ({detail}); nothing was changed. It cannot be repaired: "
                f"{self._reset_hint()} to delete it and start over (every model back to its declared "
                f"status, the cost meter at zero)"
            )
        if code == _SQLITE_READONLY_DBMOVED:
            return StateError(
                f"{path} was deleted or replaced during the operation ('rclsim reset'?); nothing was "
                f"saved: try again"
            )
        if primary in (_SQLITE_READONLY, _SQLITE_CANTOPEN):
            problem = self._unwritable()
            if problem is not None:
                return problem
            return StateError(
                f"cannot use {path} ({detail}); check the file and its folder, or use another --state-dir"
            )
        if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
            return StateError(
                f"{path} stayed locked by another process for a minute ({detail}); end that process or "
                f"use another --state-dir"
            )
        if primary in (_SQLITE_FULL, _SQLITE_IOERR):
            return StateError(f"cannot write {path} ({detail}); free some space or use another --state-dir")
        return StateError(f"{path}: {detail}; if it persists, {self._reset_hint()} to start over")

    def _lost_table(self, table: str) -> StateError:
        return StateError(
            f"{self.describe()} has lost its '{table}' table ({_NEEDED_TABLES[table]}); rclsim does not "
            f"recreate it behind your back. Restore the file from a copy, or {self._reset_hint()} to start "
            f"over (every model back to its declared status, the cost meter at zero)"
        )

    def _unwritable(self) -> StateError | None:
        """Why this process cannot write the state file, if its permissions say so."""
        path, folder = self.path, self.state_dir
        assert path is not None and folder is not None
        if not _writable(folder):
            return StateError(
                f"cannot write the fake's state in {folder}: the folder is not writable (SQLite keeps "
                f"{STATE_FILE_NAME} and its journal there); make it writable or use another --state-dir"
            )
        if path.exists() and not _writable(path):
            return StateError(
                f"{path} is read-only: rclsim cannot save model statuses there; make it writable or use "
                f"another --state-dir"
            )
        return None

    # -- the file -------------------------------------------------------------------------------------
    def _connect(self) -> tuple[sqlite3.Connection, tuple[int, int]]:
        path, folder = self.path, self.state_dir
        assert path is not None and folder is not None
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(
                f"cannot make the state folder {folder}: {exc.strerror or exc}; use another --state-dir"
            ) from None
        problem = self._unwritable()
        if problem is not None:
            raise problem
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, timeout=60, check_same_thread=False)
            self._prepare(conn)
            stat = os.stat(path)
            return conn, (stat.st_dev, stat.st_ino)
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            raise self._error(exc) from None
        except OSError as exc:
            if conn is not None:
                conn.close()
            raise StateError(f"cannot use {path}: {exc.strerror or exc}; use another --state-dir") from None
        except BaseException:
            if conn is not None:
                conn.close()
            raise

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """Check the file is rclsim's, whole and complete; give an empty one the schema."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Damage anywhere, before anything is written into a damaged file (~0.1 ms for a few
            # hundred rows; once per command, or per reopen of a server's store).
            problems = [r[0] for r in conn.execute("PRAGMA quick_check(3)")]
            if problems != ["ok"]:
                raise sqlite3.DatabaseError(f"database disk image is malformed: {'; '.join(problems)}")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables and "rclsim_meta" not in tables:
                raise StateError(
                    f"{self.describe()} is a database that is not rclsim's state; move it away, or "
                    f"{self._reset_hint()} to delete it"
                )
            if tables:
                for table in _NEEDED_TABLES:
                    if table not in tables:
                        raise self._lost_table(table)
                if "resources" not in tables:  # a file from before issue 12: add the new table
                    conn.execute(_RESOURCES_TABLE)
            else:
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
                    f"{self.describe()} holds state of another program or rclsim version ({meta}); "
                    f"{self._reset_hint()} to start over"
                )
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            raise

    def _follow_file(self) -> sqlite3.Connection:
        """The connection to the file the path names now: reopened when the file was deleted or
        replaced since it was opened. Called with the lock held."""
        try:
            stat = os.stat(self._path_text)
            identity: tuple[int, int] | None = (stat.st_dev, stat.st_ino)
        except OSError:
            identity = None
        if identity is None or identity != self._identity or self._conn is None:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn, self._identity = None, None
            self._conn, self._identity = self._connect()  # raises StateError; the next call tries again
        return self._conn

    # -- reads and writes -----------------------------------------------------------------------------
    def settled(self, arn: str) -> VersionState | None:
        """The stored state of ``arn`` when it can be read without a transaction: kept in memory
        (no other process shares it) and with no transition pending. None otherwise: ask a
        transaction. The detect path reads its model's status here on every call."""
        if self.state_dir is not None:
            return None
        state = self._versions.get(arn)
        return state if state is not None and state.next_status is None else None

    def never_stored(self, arn: str) -> bool:
        """True when ``arn`` has no state here and none can appear from elsewhere: kept in memory and
        never written. Its status is then the declared one."""
        return self.state_dir is None and arn not in self._versions

    def peek_resource(self, kind: str, arn: str) -> Resource | None:
        """A resource as last committed, read without a transaction of its own: callable inside one
        (the lifecycle asks for versions made through the API while it holds a transaction)."""
        found = self._peek(kind, arn)
        return found[0] if found else None

    def peek_resources(self, kind: str) -> list[Resource]:
        """Every resource of ``kind`` as last committed, oldest first (see :meth:`peek_resource`)."""
        return self._peek(kind, None)

    def _peek(self, kind: str, arn: str | None) -> list[Resource]:
        with self._lock:
            if self.state_dir is None:
                txn: Any = _MemoryTransaction(self._versions, self._usage, self._resources)
                if arn is None:
                    return txn.resources(kind)  # type: ignore[no-any-return]
                got = txn.get_resource(kind, arn)
                return [got] if got is not None else []
            if self._closed:
                raise StateError(f"{self.describe()}: the state store was closed")
            try:
                conn = (
                    self._conn
                    if self._conn is not None and self._conn.in_transaction
                    else self._follow_file()
                )
                reader = Transaction(conn)
                if arn is None:
                    return reader.resources(kind)
                got = reader.get_resource(kind, arn)
                return [got] if got is not None else []
            except sqlite3.Error as exc:
                raise self._error(exc) from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        """An exclusive transaction: committed when the block ends, rolled back on an exception."""
        if self.state_dir is None:
            with self._lock:
                txn = _MemoryTransaction(self._versions, self._usage, self._resources)
                yield txn
                txn.commit()
            return
        with self._lock:
            if self._closed:
                raise StateError(f"{self.describe()}: the state store was closed")
            conn = self._follow_file()
            try:
                # Transactions never nest here: one still open was cut short (Ctrl-C between BEGIN and
                # ROLLBACK, say). Roll it back rather than fail every later change.
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._error(exc) from None
            try:
                yield Transaction(conn)
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._error(exc) from None
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                raise self._error(exc) from None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None

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
