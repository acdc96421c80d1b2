"""What ex1 is in plain Keras: the same data, model, compile, fit and evaluation, nothing else."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402
import numpy as np  # noqa: E402

keras.utils.set_random_seed(42)
rng = np.random.default_rng(42)
centres = rng.normal(size=(3, 20))
y = rng.integers(0, 3, size=1000)
x = (centres[y] + rng.normal(size=(1000, 20))).astype("float32")
order = rng.permutation(1000)
test, val, train = order[:200], order[200:360], order[360:]
mean, std = x[train].mean(0), x[train].std(0)
x = (x - mean) / std
onehot = np.eye(3, dtype="float32")[y]

model = keras.Sequential([
    keras.Input((20,)),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(3, activation="softmax"),
])
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
model.fit(x[train], onehot[train], validation_data=(x[val], onehot[val]), epochs=5, batch_size=32, verbose=0)
loss, acc = model.evaluate(x[test], onehot[test], verbose=0)
print(f"test accuracy {acc:.4f}")
