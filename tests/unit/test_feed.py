"""Arrays in memory fed to fit as tf.data pipelines (core/data/feed.py): one pass over the training
rows per epoch, reshuffled at each pass and the same for the same seed; the validation split whole
and in order; inputs alone without labels; and a fit on them counts its epochs as Keras's own."""

from __future__ import annotations

import numpy as np
import pytest

from kerastui.core.data.feed import feed
from kerastui.core.tfenv import load_keras

pytestmark = pytest.mark.timeout(120)

ROWS, BATCH = 23, 5  # (five batches a pass, the last of three rows)


def rows(count: int = ROWS) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(count, dtype="float32").reshape(count, 1) * np.ones((1, 3), "float32")
    y = np.arange(count, dtype="int64")
    return x, y


def passes(fed, count: int) -> list[list[int]]:
    """The labels (row numbers) of each of ``count`` epochs, batch by batch, from the endless pipeline."""
    it = iter(fed.train)
    out = []
    for _ in range(count):
        epoch: list[int] = []
        for _ in range(fed.steps_per_epoch):
            xb, yb = next(it)
            assert xb.shape[0] == yb.shape[0] <= BATCH
            assert np.array_equal(xb.numpy()[:, 0], yb.numpy().astype("float32"))  # rows stay with their labels
            epoch += yb.numpy().tolist()
        out.append(epoch)
    return out


def test_each_epoch_is_one_pass_over_every_row_reshuffled_each_time():
    x, y = rows()
    fed = feed(x, y, None, BATCH, shuffle=True, seed=3)
    assert fed.steps_per_epoch == 5 and fed.validation is None
    epochs = passes(fed, 3)
    for epoch in epochs:
        assert sorted(epoch) == list(range(ROWS))  # every row once an epoch: the last batch partial
    assert epochs[0] != epochs[1] != epochs[2]  # a new order at each pass
    assert epochs[0] != list(range(ROWS))


def test_the_same_seed_gives_the_same_order_and_no_shuffle_keeps_it():
    x, y = rows()
    first = passes(feed(x, y, None, BATCH, shuffle=True, seed=7), 2)
    again = passes(feed(x, y, None, BATCH, shuffle=True, seed=7), 2)
    other = passes(feed(x, y, None, BATCH, shuffle=True, seed=8), 2)
    assert first == again and first != other
    assert passes(feed(x, y, None, BATCH, shuffle=False, seed=7), 2) == [list(range(ROWS))] * 2


def test_validation_is_every_row_once_in_order_and_labels_may_be_absent():
    x, y = rows()
    vx, vy = rows(12)
    fed = feed(x, y, (vx, vy), BATCH, shuffle=True, seed=0)
    got = [b for _, b in fed.validation]
    assert [len(b) for b in got] == [5, 5, 2]
    assert np.concatenate([b.numpy() for b in got]).tolist() == list(range(12))
    assert feed(x, y, (vx[:0], vy[:0]), BATCH, shuffle=True, seed=0).validation is None
    alone = feed(x, None, None, BATCH, shuffle=False, seed=0)
    first = next(iter(alone.train))
    assert not isinstance(first, tuple) and first.shape == (BATCH, 3)  # inputs alone
    assert str(first.device).endswith("CPU:0")


def test_a_fit_on_the_feed_counts_its_epochs_and_learns():
    keras = load_keras()
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("float32")
    fed = feed(x[:160], y[:160], (x[160:], y[160:]), 16, shuffle=True, seed=0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    seen = []

    class Count(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((epoch, self.params["steps"]))

    history = model.fit(fed.train, steps_per_epoch=fed.steps_per_epoch, validation_data=fed.validation, epochs=4,
                        initial_epoch=1, verbose=0, callbacks=[Count()], shuffle=False)
    assert seen == [(1, 10), (2, 10), (3, 10)]  # epochs 2–4 of 4, ten batches each (160 / 16)
    assert len(history.history["val_loss"]) == 3
    assert history.history["val_accuracy"][-1] > 0.8


def test_the_pipelines_run_without_tf_data_autotuning():
    """Autotuning made an iterator's deletion wait for its tuning thread, at random (the validation
    pipeline's at an epoch's end, the training pipeline's at the fit's): both pipelines are fixed."""
    x, y = rows()
    fed = feed(x, y, rows(12), BATCH, shuffle=True, seed=0)
    for pipeline in (fed.train, fed.validation):
        assert pipeline.options().autotune.enabled is False
    assert sorted(np.concatenate([b.numpy() for _, b in fed.validation]).tolist()) == list(range(12))
