"""The ledger's journal: accepted batches are appended, then folded into `members` in order."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from target_linkedin_audiences.ledger import Ledger

SEGMENT = "101"


def user(number: int) -> tuple[str, dict]:
    digest = hashlib.sha256(f"member{number}@example.com".encode()).hexdigest()
    return digest, {"userIds": [{"idType": "SHA256_EMAIL", "idValue": digest}], "firstName": "Ada"}


@pytest.fixture
def ledger(tmp_path):
    store = Ledger(str(tmp_path / "ledger.db"))
    store.register_segment(SEGMENT, "USER", "Contacts", "contacts@1", "urn:li:sponsoredAccount:1")
    yield store
    store.close()


def raw_rows(path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        return connection.execute(sql).fetchall()


def test_ledger_last_action_wins(ledger):
    ledger.start_run("run1")
    ledger.apply_accepted(SEGMENT, "USER", "run1", "ADD", [user(1), user(2), user(3)])
    ledger.apply_accepted(SEGMENT, "USER", "run1", "REMOVE", [user(2), user(4)])
    ledger.apply_accepted(SEGMENT, "USER", "run1", "ADD", [user(4)])
    ledger.apply_accepted(SEGMENT, "USER", "run1", "REMOVE", [user(3)])
    ledger.apply_accepted(SEGMENT, "USER", "run1", "ADD", [user(3)])
    ledger.apply_accepted(SEGMENT, "USER", "run1", "REMOVE", [user(1)])

    assert ledger.count(SEGMENT) == 2
    ledger.start_run("run2")
    absent = dict(ledger.absent_members(SEGMENT, "run2"))
    assert set(absent) == {user(3)[0], user(4)[0]}
    # Only what a REMOVE needs is kept: the hashed id, never the name.
    assert absent[user(3)[0]] == {"userIds": user(3)[1]["userIds"]}


def test_ledger_rerun_keeps_added_time(ledger, tmp_path):
    ledger.start_run("run1")
    ledger.apply_accepted(SEGMENT, "USER", "run1", "ADD", [user(1), user(2)])
    ledger.finish_run("run1", "complete")
    added = dict(raw_rows(tmp_path / "ledger.db", "SELECT member_key, added_at FROM members"))

    ledger.start_run("run2")
    ledger.apply_accepted(SEGMENT, "USER", "run2", "ADD", [user(2), user(3)])
    ledger.finish_run("run2", "complete")

    rows = {key: (added_at, run) for key, added_at, run in raw_rows(
        tmp_path / "ledger.db", "SELECT member_key, added_at, confirmed_run FROM members")}
    assert rows[user(1)[0]] == (added[user(1)[0]], "run1")
    assert rows[user(2)[0]] == (added[user(2)[0]], "run2")
    assert rows[user(3)[0]][1] == "run2"
    assert raw_rows(tmp_path / "ledger.db", "SELECT COUNT(*) FROM member_journal") == [(0,)]
    assert [row[0] for row in ledger.absent_members(SEGMENT, "run2")] == [user(1)[0]]


def test_ledger_folds_leftover_journal_on_open(tmp_path):
    path = tmp_path / "ledger.db"
    first = Ledger(str(path))
    first.register_segment(SEGMENT, "USER", "Contacts", "contacts@1", "urn:li:sponsoredAccount:1")
    first.start_run("run1")
    first.apply_accepted(SEGMENT, "USER", "run1", "ADD", [user(1), user(2)])
    first.apply_accepted(SEGMENT, "USER", "run1", "REMOVE", [user(1)])
    first.close()  # no finish_run: the process stopped after these batches were accepted
    assert raw_rows(path, "SELECT COUNT(*) FROM members") == [(0,)]
    assert raw_rows(path, "SELECT COUNT(*) FROM member_journal") == [(3,)]

    Ledger(str(path)).close()

    assert raw_rows(path, "SELECT member_key, confirmed_run FROM members") == [(user(2)[0], "run1")]
    assert raw_rows(path, "SELECT COUNT(*) FROM member_journal") == [(0,)]


def test_ledger_show_counts_members_still_in_the_journal(ledger):
    ledger.start_run("run1")
    ledger.apply_accepted(SEGMENT, "USER", "run1", "ADD", [user(number) for number in range(5)])

    [segment] = ledger.segments()
    assert segment["segment_id"] == SEGMENT
    assert segment["members"] == 5


def test_ledger_drops_the_journal_of_a_replaced_segment(ledger, tmp_path):
    ledger.start_run("run1")
    ledger.apply_accepted(SEGMENT, "USER", "run1", "ADD", [user(1), user(2)])

    replaced = ledger.register_segment("202", "USER", "Contacts", "contacts@1", "urn:li:sponsoredAccount:1")

    assert replaced == [SEGMENT]
    assert raw_rows(tmp_path / "ledger.db", "SELECT COUNT(*) FROM member_journal") == [(0,)]
    assert ledger.count(SEGMENT) == 0
    assert ledger.count("202") == 0


def test_ledger_sync_checkpoints_into_file(ledger, tmp_path):
    # An immutable connection reads the database file alone, without the WAL, so it reads a
    # batch only once sync() has copied it there.
    def journal_rows_in_file() -> int:
        uri = f"file:{tmp_path / 'ledger.db'}?immutable=1"
        with sqlite3.connect(uri, uri=True) as connection:
            try:
                return connection.execute("SELECT COUNT(*) FROM member_journal").fetchone()[0]
            except sqlite3.OperationalError:  # not even the table has left the WAL yet
                return 0

    ledger.start_run("run1")
    ledger.apply_accepted(SEGMENT, "USER", "run1", "ADD", [user(1), user(2)])
    assert journal_rows_in_file() == 0

    ledger.sync()

    assert journal_rows_in_file() == 2


def test_ledger_stores_email_only_person_by_key(ledger, tmp_path):
    digest, element = user(1)
    aid_key = hashlib.sha256(b"GOOGLE_AID:38400000-8cf0-11bd-b23e-10b96e40000d").hexdigest()
    with_aid = {
        "userIds": [
            {"idType": "SHA256_EMAIL", "idValue": user(2)[0]},
            {"idType": "GOOGLE_AID", "idValue": "38400000-8cf0-11bd-b23e-10b96e40000d"},
        ],
        "lastName": "Lovelace",
    }
    ledger.start_run("run1")
    ledger.apply_accepted(SEGMENT, "USER", "run1", "ADD", [(digest, element), (aid_key, with_aid)])
    ledger.finish_run("run1", "complete")

    stored = dict(raw_rows(tmp_path / "ledger.db", "SELECT member_key, element FROM members"))
    assert stored[digest] == ""
    assert "Lovelace" not in stored[aid_key]
    ledger.start_run("run2")
    absent = dict(ledger.absent_members(SEGMENT, "run2"))
    assert absent[digest] == {"userIds": element["userIds"]}
    assert absent[aid_key] == {"userIds": with_aid["userIds"]}


def test_background_fold_then_later_batches(ledger, tmp_path):
    ledger.start_run("run1")
    ledger.apply_accepted(SEGMENT, "USER", "run1", "ADD", [user(number) for number in range(20_000)])
    ledger.fold_in_background()
    # Accepted while the fold runs: a removal of a folded member and two new members.
    ledger.apply_accepted(SEGMENT, "USER", "run1", "REMOVE", [user(0)])
    ledger.apply_accepted(SEGMENT, "USER", "run1", "ADD", [user(20_000), user(20_001)])

    assert ledger.count(SEGMENT) == 20_001
    ledger.finish_run("run1", "complete")
    assert raw_rows(tmp_path / "ledger.db", "SELECT COUNT(*) FROM member_journal") == [(0,)]
    keys = {key for (key,) in raw_rows(tmp_path / "ledger.db", "SELECT member_key FROM members")}
    assert user(0)[0] not in keys
    assert user(20_001)[0] in keys


def test_background_fold_joined_on_close(tmp_path):
    store = Ledger(str(tmp_path / "ledger.db"))
    store.register_segment(SEGMENT, "USER", "Contacts", "contacts@1", "urn:li:sponsoredAccount:1")
    store.start_run("run1")
    store.apply_accepted(SEGMENT, "USER", "run1", "ADD", [user(number) for number in range(5_000)])
    store.fold_in_background()

    store.close()

    assert raw_rows(tmp_path / "ledger.db", "SELECT COUNT(*) FROM members") == [(5_000,)]
    assert raw_rows(tmp_path / "ledger.db", "SELECT COUNT(*) FROM member_journal") == [(0,)]
