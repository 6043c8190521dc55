"""Trial store checks a manual mutation test (helper mutation10, session 37) found
missing from the fast store tests: each column lands where it is read, rows come back in
id order, a trial planned twice keeps its first row and only failed trials are retried."""

from __future__ import annotations

from cnnlab.design.store import TrialStore


def _planned(i: int, macs: int) -> dict:
    return {"id": i, "space": "anynetx_a", "sample": {"i": i}, "config": {"w": i},
            "macs": macs, "params": 1000 + i, "acts": 2000 + i, "seed": 7}


def test_rows_keep_their_columns_and_come_back_by_id(tmp_path):
    with TrialStore(tmp_path, create=True) as store:
        # Ids 2, 0, 1 with MACs falling as the ids rise: by id is neither order of writing
        # nor of MACs.
        assert store.add_trials([_planned(2, 10), _planned(0, 30), _planned(1, 20)]) == 3
        rows = store.trials()
        assert [r["id"] for r in rows] == [0, 1, 2]
        assert [(r["macs"], r["params"], r["acts"]) for r in rows] == [
            (30, 1000, 2000), (20, 1001, 2001), (10, 1002, 2002)]
        assert rows[1]["sample"] == {"i": 1} and rows[1]["config"] == {"w": 1}
        store.record(2, "failed", message="x")
        store.record(0, "failed", message="y")
        assert [r["id"] for r in store.trials("failed")] == [0, 2]


def test_a_trial_planned_again_keeps_its_first_row(tmp_path):
    with TrialStore(tmp_path, create=True) as store:
        store.add_trials([_planned(0, 30)])
        store.record(0, "done", error_pct=12.5)
        assert store.add_trials([_planned(0, 99), _planned(1, 5)]) == 1
        first = store.trial(0)
        assert (first["macs"], first["status"], first["error_pct"]) == (30, "done", 12.5)


def test_only_failed_trials_are_retried(tmp_path):
    with TrialStore(tmp_path, create=True) as store:
        store.add_trials([_planned(i, 10) for i in range(3)])
        store.mark_running(0)
        assert store.trial(0)["attempts"] == 1  # counted when it starts
        store.record(1, "failed", message="boom")
        store.record(2, "done", error_pct=10.0)
        assert store.retry_failed() == [1]
        assert {k: v for k, v in store.counts().items() if v} == {"running": 1, "pending": 1,
                                                                "done": 1}
        # put_back takes back only a running trial's attempt: the done one keeps its status.
        store.put_back([0, 2])
        assert (store.trial(0)["status"], store.trial(0)["attempts"]) == ("pending", 0)
        assert store.trial(2)["status"] == "done"
