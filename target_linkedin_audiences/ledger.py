"""The membership ledger: which members each segment holds, for mirror sync and audit.

One SQLite file (mode 0600) with a row per (segment, member): the member's dedupe key, the
element needed to remove it later, when it was added and the run that last confirmed it. Rows
change only for elements LinkedIn accepted, and the change is committed before the target may
emit STATE for them.

Accepted batches are appended to a journal table and folded into `members` later, in key order:
when a run finishes, before any read, and when a ledger with a leftover journal is opened. The
member keys are digests, so a batch written straight into `members` touches one B-tree page per
member: with 300,000 members held, each member of a batch of 5,000 cost about 35 µs, and more as
the table grew. With a million members, a journal append costs about 3.5 µs and the fold about
6 µs per member (2-core benchmark machine, see docs/benchmarks.md).

The stored element carries only what a REMOVE needs: hashed email ids or a Google ad id for a
person (never a name), and the identifying fields for a company. It is the empty string for a
person whose only id is the SHA-256 email digest that is also the key.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
import typing as t

import orjson

from target_linkedin_audiences.members import COMPANY_IDENTIFYING_FIELDS

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at REAL NOT NULL,
    finished_at REAL,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS segments (
    segment_id TEXT PRIMARY KEY,
    segment_type TEXT NOT NULL,
    segment_name TEXT NOT NULL,
    source_segment_id TEXT NOT NULL,
    account_urn TEXT NOT NULL,
    last_complete_run TEXT
);
CREATE TABLE IF NOT EXISTS members (
    segment_id TEXT NOT NULL,
    member_key TEXT NOT NULL,
    element TEXT NOT NULL,
    added_at REAL NOT NULL,
    confirmed_run TEXT NOT NULL,
    PRIMARY KEY (segment_id, member_key)
);
CREATE TABLE IF NOT EXISTS member_journal (
    seq INTEGER PRIMARY KEY,
    segment_id TEXT NOT NULL,
    member_key TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('ADD', 'REMOVE')),
    element TEXT,
    at REAL NOT NULL,
    run_id TEXT NOT NULL
);
"""

# Folds the journal into `members`, the last action of each member winning. The first statement
# deletes every member the journal removed at some point. The second (re)inserts those whose last
# action is ADD. SQLite's GROUP BY sorts by the key, so the rows arrive in key order and each page
# of the members tree is written about once. An ORDER BY would only add a second sort. The bare
# columns come from the row with MAX(seq), as SQLite defines for a lone max() aggregate. A
# member new to `members` gets the time of its last journal ADD as added_at; one already there
# keeps its own.
FOLD_JOURNAL = (
    "DELETE FROM members WHERE (segment_id, member_key) IN"
    " (SELECT segment_id, member_key FROM member_journal WHERE action = 'REMOVE')",
    "INSERT INTO members (segment_id, member_key, element, added_at, confirmed_run)"
    " SELECT segment_id, member_key, element, at, run_id"
    " FROM (SELECT segment_id, member_key, action, element, at, run_id, MAX(seq)"
    "       FROM member_journal GROUP BY segment_id, member_key)"
    " WHERE action = 'ADD'"
    " ON CONFLICT (segment_id, member_key) DO UPDATE SET"
    " element = excluded.element, confirmed_run = excluded.confirmed_run",
    "DELETE FROM member_journal",
)


def removal_element(segment_type: str, element: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Keep the fields a later REMOVE needs, and no plaintext name."""
    if segment_type == "USER":
        return {"userIds": element["userIds"]} if element.get("userIds") else {}
    return {name: element[name] for name in COMPANY_IDENTIFYING_FIELDS if element.get(name)}


def _dump_sorted(element: dict[str, t.Any]) -> str:
    return orjson.dumps(element, option=orjson.OPT_SORT_KEYS).decode()


# The stored element of a person whose only id is the SHA-256 email digest that is also their
# key. Most people are stored so, because the element follows from the key. Leaving it out makes
# the rows of the journal and the members table about a third smaller.
KEY_IS_ELEMENT = ""


def _stored_element(segment_type: str, key: str, element: t.Mapping[str, t.Any]) -> str:
    removal = removal_element(segment_type, element)
    user_ids = removal.get("userIds")
    if (
        segment_type == "USER"
        and len(removal) == 1
        and isinstance(user_ids, list)
        and len(user_ids) == 1
        and user_ids[0] == {"idType": "SHA256_EMAIL", "idValue": key}
    ):
        return KEY_IS_ELEMENT
    return _dump_sorted(removal)


def _loaded_element(key: str, stored: str) -> dict[str, t.Any]:
    if stored == KEY_IS_ELEMENT:
        return {"userIds": [{"idType": "SHA256_EMAIL", "idValue": key}]}
    return json.loads(stored)


class Ledger:
    """SQLite-backed membership ledger, safe to share between sink threads."""

    def __init__(self, path: str) -> None:
        self.path = path
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        if not os.path.exists(path):
            # Created with mode 0600 before SQLite opens it, so the file is never world-readable.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        # A commit survives a crash of this process at once and a power cut after sync(), which
        # the target calls before each STATE. So a batch costs no fsync of its own.
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.executescript(SCHEMA)
        self._lock = threading.Lock()
        self._background_fold: threading.Thread | None = None
        # A run that ended early leaves accepted batches in the journal; they count as confirmed.
        self._fold_journal()

    def close(self) -> None:
        self._join_background_fold()
        with self._lock:
            self._connection.close()

    def sync(self) -> None:
        """Make every committed change durable on disk: sync the WAL and copy it into the file."""
        with self._lock:
            self._connection.execute("PRAGMA wal_checkpoint(FULL)")

    # Runs

    def start_run(self, run_id: str) -> None:
        with self._lock:
            self._connection.execute(
                "INSERT INTO runs (run_id, started_at, status) VALUES (?, ?, 'running')", (run_id, time.time())
            )

    def finish_run(self, run_id: str, status: str) -> None:
        self._fold_journal()
        with self._lock:
            self._connection.execute(
                "UPDATE runs SET finished_at = ?, status = ? WHERE run_id = ?", (time.time(), status, run_id)
            )

    # Segments

    def register_segment(
        self, segment_id: str, segment_type: str, segment_name: str, source_segment_id: str, account_urn: str
    ) -> list[str]:
        """Record the segment a key maps to; return the ids of older segments it replaces.

        A different segment under the same account, key and type means the old one was deleted
        on LinkedIn and the target created a new one, so the old rows describe nothing any more.
        """
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                replaced = [
                    row[0]
                    for row in self._connection.execute(
                        "SELECT segment_id FROM segments WHERE account_urn = ? AND source_segment_id = ?"
                        " AND segment_type = ? AND segment_id != ?",
                        (account_urn, source_segment_id, segment_type, segment_id),
                    )
                ]
                for old_id in replaced:
                    self._connection.execute("DELETE FROM members WHERE segment_id = ?", (old_id,))
                    self._connection.execute("DELETE FROM member_journal WHERE segment_id = ?", (old_id,))
                    self._connection.execute("DELETE FROM segments WHERE segment_id = ?", (old_id,))
                self._connection.execute(
                    "INSERT INTO segments (segment_id, segment_type, segment_name, source_segment_id, account_urn)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (segment_id) DO UPDATE SET segment_name = excluded.segment_name",
                    (segment_id, segment_type, segment_name, source_segment_id, account_urn),
                )
                self._connection.execute("COMMIT")
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
        if replaced:
            logger.info(
                "Ledger: segment %s replaces %s for key %s; the old rows were dropped",
                segment_id, ", ".join(replaced), source_segment_id,
            )
        return replaced

    def mark_complete(self, segment_id: str, run_id: str) -> None:
        with self._lock:
            self._connection.execute(
                "UPDATE segments SET last_complete_run = ? WHERE segment_id = ?", (run_id, segment_id)
            )

    def segments(self) -> list[dict[str, t.Any]]:
        """Return every segment with its member count and last complete run."""
        self._fold_journal()
        with self._lock:
            rows = self._connection.execute(
                "SELECT s.segment_id, s.segment_type, s.segment_name, s.source_segment_id, s.account_urn,"
                " s.last_complete_run, r.finished_at, COUNT(m.member_key), MIN(m.added_at), MAX(m.added_at)"
                " FROM segments s LEFT JOIN members m ON m.segment_id = s.segment_id"
                " LEFT JOIN runs r ON r.run_id = s.last_complete_run"
                " GROUP BY s.segment_id ORDER BY CAST(s.segment_id AS INTEGER), s.segment_id"
            ).fetchall()
        keys = (
            "segment_id", "segment_type", "segment_name", "source_segment_id", "account_urn",
            "last_complete_run", "last_complete_at", "members", "first_added_at", "last_added_at",
        )
        return [dict(zip(keys, row)) for row in rows]

    # Members

    def apply_accepted(
        self, segment_id: str, segment_type: str, run_id: str, action: str, members: t.Iterable[tuple[str, dict]]
    ) -> None:
        """Record members LinkedIn accepted: ADD upserts and confirms them, REMOVE deletes them.

        The batch is appended to the journal in one committed transaction; reads see it folded in.
        """
        now = time.time()
        if action == "ADD":
            rows = [
                (segment_id, key, action, _stored_element(segment_type, key, element), now, run_id)
                for key, element in members
            ]
        else:
            rows = [(segment_id, key, action, None, now, run_id) for key, _ in members]
        with self._lock, self._transaction():
            self._connection.executemany(
                "INSERT INTO member_journal (segment_id, member_key, action, element, at, run_id)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

    def fold_in_background(self) -> None:
        """Start folding the journal on another thread, for a run whose input has ended.

        Batches accepted meanwhile wait for the fold before they are appended, and every read
        and close() wait for it too. Requests to LinkedIn go on meanwhile.
        """
        if self._background_fold is None:
            self._background_fold = threading.Thread(target=self._fold_on_thread, name="ledger-fold", daemon=True)
            self._background_fold.start()

    def _fold_on_thread(self) -> None:
        try:
            self._fold_journal()
        except Exception as exc:  # noqa: BLE001 - the journal is intact, and the next fold retries
            logger.warning(
                "Ledger %s: folding the journal in the background failed: %s. The next read or the end of the run "
                "retries it.", self.path, exc,
            )

    def _join_background_fold(self) -> None:
        thread, self._background_fold = self._background_fold, None
        if thread is not None:
            thread.join()

    def _fold_journal(self) -> None:
        if threading.current_thread() is not self._background_fold:
            self._join_background_fold()
        with self._lock:
            if self._connection.execute("SELECT 1 FROM member_journal LIMIT 1").fetchone() is None:
                return
            with self._transaction():
                for statement in FOLD_JOURNAL:
                    self._connection.execute(statement)

    @contextlib.contextmanager
    def _transaction(self) -> t.Iterator[None]:
        # The connection is in autocommit mode (isolation_level=None), where `with connection:`
        # opens no transaction: a batch then costs one commit, and one fsync, per row.
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")

    def count(self, segment_id: str) -> int:
        self._fold_journal()
        with self._lock:
            return self._connection.execute(
                "SELECT COUNT(*) FROM members WHERE segment_id = ?", (segment_id,)
            ).fetchone()[0]

    def absent_members(self, segment_id: str, run_id: str) -> list[tuple[str, dict]]:
        """Return members this run did not confirm, as (key, removal element) pairs."""
        self._fold_journal()
        with self._lock:
            rows = self._connection.execute(
                "SELECT member_key, element FROM members WHERE segment_id = ? AND confirmed_run != ?"
                " ORDER BY added_at, member_key",
                (segment_id, run_id),
            ).fetchall()
        return [(key, _loaded_element(key, element)) for key, element in rows]
