"""Resources made through the API (projects, datasets, versions...) live in the state store, in memory
or in the SQLite file shared by processes, with the same reads and writes."""

from __future__ import annotations

import sqlite3

import pytest

from rclsim.fake.state import Resource, StateStore, VersionState


@pytest.fixture(params=["memory", "file"])
def store(request, tmp_path):
    s = StateStore(None if request.param == "memory" else tmp_path / "state")
    yield s
    s.close()


def test_put_get_list_delete(store):
    p = Resource("project", "arn:p/1", None, 2.0, {"Name": "a", "n": [1, 2]})
    q = Resource("project", "arn:p/0", None, 1.0, {"Name": "b"})
    d = Resource("dataset", "arn:p/1/dataset/train/3", "arn:p/1", 3.0, {"Type": "TRAIN"})
    with store.transaction() as txn:
        for r in (p, q, d):
            txn.put_resource(r)
        assert txn.get_resource("project", "arn:p/1") == p  # read back inside the same transaction
    with store.transaction() as txn:
        assert [r.arn for r in txn.resources("project")] == ["arn:p/0", "arn:p/1"]  # oldest first
        assert txn.resources("dataset", parent="arn:p/1") == [d]
        assert txn.resources("dataset", parent="arn:p/0") == []
        assert txn.get_resource("dataset", "arn:p/1") is None  # kinds are separate
        got = txn.get_resource("project", "arn:p/1")
        got.doc["n"].append(3)  # a copy: changing it changes nothing stored
    with store.transaction() as txn:
        assert txn.get_resource("project", "arn:p/1").doc == {"Name": "a", "n": [1, 2]}
        txn.delete_resource("project", "arn:p/1")
        assert txn.get_resource("project", "arn:p/1") is None
    with store.transaction() as txn:
        assert [r.arn for r in txn.resources("project")] == ["arn:p/0"]


def test_failed_transaction_keeps_nothing(store):
    with pytest.raises(RuntimeError), store.transaction() as txn:
        txn.put_resource(Resource("project", "arn:x", None, 1.0, {}))
        txn.put(VersionState("arn:v", "RUNNING", 1.0))
        raise RuntimeError("boom")
    with store.transaction() as txn:
        assert txn.get_resource("project", "arn:x") is None
        assert txn.get("arn:v") is None


def test_delete_version_state(store):
    with store.transaction() as txn:
        txn.put(VersionState("arn:v", "STOPPED", 1.0))
    with store.transaction() as txn:
        txn.delete("arn:v")
        assert txn.get("arn:v") is None
        assert txn.all() == []
    with store.transaction() as txn:
        assert txn.get("arn:v") is None


def test_shared_between_processes_through_the_file(tmp_path):
    a, b = StateStore(tmp_path), StateStore(tmp_path)
    with a.transaction() as txn:
        txn.put_resource(Resource("project", "arn:p", None, 1.0, {"Name": "p"}))
    with b.transaction() as txn:
        assert txn.get_resource("project", "arn:p").doc == {"Name": "p"}
    a.close()
    b.close()


def test_older_state_file_gets_the_new_table(tmp_path):
    """A state file written before resources existed keeps its versions and gains the table."""
    StateStore(tmp_path).close()
    conn = sqlite3.connect(tmp_path / "state.sqlite3")
    conn.execute("DROP TABLE resources")
    conn.execute("INSERT INTO versions (arn, status, changed_at) VALUES ('arn:v', 'STOPPED', 1.0)")
    conn.commit()
    conn.close()
    store = StateStore(tmp_path)
    with store.transaction() as txn:
        assert txn.get("arn:v").status == "STOPPED"
        txn.put_resource(Resource("project", "arn:p", None, 1.0, {}))
    store.close()
