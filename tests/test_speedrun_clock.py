"""The speedrun's clock: set-up is timed up to the start of the training loop, so work
after the last epoch cannot leak into the time to target."""

import time

from cnnlab.bench.speedrun import run_once, speedrun_config
from cnnlab.data.synthetic import make_synthetic


def test_work_after_the_last_epoch_is_not_charged_to_the_time_to_target(monkeypatch):
    from cnnlab.train.trainer import Trainer

    evaluated_at, delay = [], 1.5
    evaluate, finish = Trainer._evaluate, Trainer._finish

    def timed_evaluate(self):
        result = evaluate(self)
        evaluated_at.append(time.perf_counter())
        return result

    def slow_finish(self, history, stopped):  # work after the last epoch, as at teardown
        time.sleep(delay)
        return finish(self, history, stopped)

    monkeypatch.setattr(Trainer, "_evaluate", timed_evaluate)
    monkeypatch.setattr(Trainer, "_finish", slow_finish)
    data = make_synthetic(num_train=256, num_test=64, seed=2)
    cfg = speedrun_config("cpu", seed=0, epochs=2, batch_size=64, device="cpu", threads=1)
    started = time.perf_counter()
    r = run_once(cfg, data, target=0.0)  # reached by the first epoch's evaluation
    true_time = evaluated_at[0] - started
    assert r.total_time_s >= true_time + delay  # the delay happened, after the target
    # The old clock (total - the last epoch's wall_s) charged the delay to set-up.
    assert abs(r.time_to_target_s - true_time) < 0.5 * delay, (r.time_to_target_s, true_time)
