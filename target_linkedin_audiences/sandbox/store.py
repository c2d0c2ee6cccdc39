"""SQLite storage for all sandbox state, shared by the request threads of one process."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS auth_codes (
    code TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    member TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    client_id TEXT NOT NULL,
    member TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    authorized_at REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    type TEXT NOT NULL,
    source_platform TEXT NOT NULL,
    source_segment_id TEXT,
    destination_segment_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_modified REAL NOT NULL,
    first_data_at REAL,
    last_change_at REAL,
    pinned_status TEXT
);
CREATE INDEX IF NOT EXISTS segments_by_account ON segments (account, source_platform);
CREATE TABLE IF NOT EXISTS members (
    segment_id INTEGER NOT NULL,
    member_key TEXT NOT NULL,
    element TEXT NOT NULL,
    matched INTEGER NOT NULL,
    PRIMARY KEY (segment_id, member_key)
);
-- Counts a segment's audience size without reading each member's row.
CREATE INDEX IF NOT EXISTS members_by_match ON members (segment_id, matched);
CREATE TABLE IF NOT EXISTS input_events (
    segment_id INTEGER NOT NULL,
    at REAL NOT NULL,
    received INTEGER NOT NULL,
    matched INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS input_events_by_segment ON input_events (segment_id, at);
CREATE TABLE IF NOT EXISTS media (
    urn TEXT PRIMARY KEY,
    member TEXT NOT NULL,
    kind TEXT NOT NULL,
    rows TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    method TEXT,
    path TEXT NOT NULL,
    status INTEGER,
    headers TEXT NOT NULL,
    body TEXT,
    drop_connection INTEGER NOT NULL,
    delay_seconds REAL NOT NULL,
    remaining INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rate_hits (
    member TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_hits_by_member ON rate_hits (member, endpoint, at);
CREATE TABLE IF NOT EXISTS requests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    query TEXT NOT NULL,
    headers TEXT NOT NULL,
    body TEXT,
    status INTEGER NOT NULL
);
"""

CACHE_KIBIBYTES = 64 * 1024
WAL_AUTOCHECKPOINT_PAGES = 40_000

STATE_TABLES = (
    "meta",
    "auth_codes",
    "tokens",
    "segments",
    "members",
    "input_events",
    "media",
    "faults",
    "rate_hits",
    "requests",
)


class Store:
    """One SQLite connection in WAL mode, used under a process-wide lock.

    Every read-modify-write runs inside `transaction()`, so request threads never interleave
    their changes. Other processes (such as `sandbox token`) wait on SQLite's busy timeout.
    """

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        if not self.db_path.exists():
            # The database contains tokens, so it is created private. SQLite gives its -wal and
            # -shm files the same mode.
            os.close(os.open(self.db_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self._lock = threading.RLock()
        self._connection = sqlite3.connect(
            self.db_path, check_same_thread=False, isolation_level=None, timeout=30
        )
        self._connection.row_factory = sqlite3.Row
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA busy_timeout=30000")
        # Without fsync the file survives a crash of this process, but a system crash can lose or corrupt
        # it, which is acceptable for an emulator. At a million members a 5,000-member request took
        # 0.138 s instead of 0.188 s.
        self._connection.execute("PRAGMA synchronous=OFF")
        # A BATCH_CREATE of 5,000 members inserts 5,000 random keys into the members primary
        # key. With 64 MiB of page cache in place of SQLite's 2 MB default, most of that index
        # stays in memory, which halved the insert CPU at a million members (256 MiB did no better).
        self._connection.execute(f"PRAGMA cache_size=-{CACHE_KIBIBYTES}")
        # Each such request dirties thousands of index pages. A checkpoint every 40,000 pages
        # (160 MiB of WAL with 4 KiB pages) in place of every 1,000 copies a page that several
        # requests changed to the database file once, and cut commit CPU by about a quarter.
        self._connection.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        self._connection.executescript(SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Yield the connection inside one write transaction, committed on success."""
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def clear(self) -> None:
        """Delete all state: tokens, segments, members, faults, the clock offset and the log."""
        with self.transaction() as db:
            clear_tables(db)


def clear_tables(db: sqlite3.Connection) -> None:
    """Delete every row of every table and restart the id sequences."""
    for table in STATE_TABLES:
        db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
    db.execute("DELETE FROM sqlite_sequence")


def clock_offset(db: sqlite3.Connection) -> float:
    row = db.execute("SELECT value FROM meta WHERE key = 'clock_offset'").fetchone()
    return float(row["value"]) if row else 0.0


def now(db: sqlite3.Connection) -> float:
    """Return the simulated time in epoch seconds: wall-clock time plus the stored offset."""
    return time.time() + clock_offset(db)


def advance_clock(db: sqlite3.Connection, seconds: float) -> float:
    """Move the simulated clock forward and return the new simulated time."""
    offset = clock_offset(db) + seconds
    db.execute(
        "INSERT INTO meta (key, value) VALUES ('clock_offset', ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (repr(offset),),
    )
    return time.time() + offset
