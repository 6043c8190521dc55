"""The trial store's retry, from a hand mutation test (session 40): a failed trial put
back by --retry-failed starts afresh, its old message, result and attempts cleared."""

from __future__ import annotations

from test_mutation10_store import _planned

from cnnlab.design.store import TrialStore


def test_a_retried_trial_keeps_nothing_of_its_failure(tmp_path):
    with TrialStore(tmp_path, create=True) as store:
        store.add_trials([_planned(i, 10) for i in range(2)])
        for _ in range(2):
            store.mark_running(0)
        store.record(0, "failed", message="boom", worker="w1", wall_time_s=1.5)
        store.mark_running(1)
        store.record(1, "done", error_pct=10.0, worker="w2")
        assert store.retry_failed() == [0]
        row = store.trial(0)
        assert (row["status"], row["attempts"]) == ("pending", 0)
        assert (row["message"], row["worker"], row["wall_time_s"], row["finished_at"],
                row["started_at"]) == (None, None, None, None, None)
        # The done trial is untouched, and a second retry finds nothing to put back.
        assert (store.trial(1)["status"], store.trial(1)["error_pct"]) == ("done", 10.0)
        assert store.retry_failed() == []
