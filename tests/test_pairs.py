"""kerascool_lib.pairs: pairs drawn exactly as documented, the contrastive loss against its
closed form, thresholds against a brute-force search, saving and JAX."""

import os
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from kerascool_lib import pairs

ROOT = pathlib.Path(__file__).resolve().parent.parent
LABELS = np.repeat(np.arange(10), 7)[np.random.default_rng(3).permutation(70)]


@pytest.mark.parametrize("n, fraction, expected", [(100, 0.5, 50), (7, 0.5, 4), (9, 0.0, 0), (9, 1.0, 9), (10, 0.25, 3)])
def test_make_pairs_counts_and_classes(n, fraction, expected):
    a, b, same = pairs.make_pairs(LABELS, LABELS, n, positive_fraction=fraction, seed=1)
    assert a.shape == b.shape == same.shape == (n,) and same.dtype == np.float32
    assert int(same.sum()) == expected
    np.testing.assert_array_equal(a == b, same == 1)  # x = the labels: same class <=> equal


def test_make_pairs_never_pairs_a_sample_with_itself_and_keeps_rows():
    x = np.arange(70 * 3).reshape(70, 3)  # row i = (3i, 3i+1, 3i+2): the sample's identity
    a, b, same = pairs.make_pairs(x, LABELS, 500, seed=0)
    assert not np.any(np.all(a == b, axis=1))
    ia, ib = a[:, 0] // 3, b[:, 0] // 3
    np.testing.assert_array_equal(a, x[ia])
    np.testing.assert_array_equal(LABELS[ia] == LABELS[ib], same == 1)


def test_make_pairs_is_reproducible_and_varies_with_the_seed():
    first = pairs.make_pairs(LABELS, LABELS, 50, seed=4)
    again = pairs.make_pairs(LABELS, LABELS, 50, seed=4)
    other = pairs.make_pairs(np.arange(70), LABELS, 50, seed=5)
    for u, v in zip(first, again):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(pairs.make_pairs(np.arange(70), LABELS, 50, seed=4)[0], other[0])


def test_make_pairs_two_samples_of_one_class_and_singletons():
    a, b, same = pairs.make_pairs(["p", "q", "r"], [0, 0, 1], 6, seed=0)
    positives = {(u, v) for u, v, s in zip(a, b, same) if s}
    assert positives <= {("p", "q"), ("q", "p")} and len(positives) > 0
    assert all({u, v} & {"r"} and not {u, v} <= {"p", "q"} for u, v, s in zip(a, b, same) if not s)


def test_contrastive_loss_closed_form():
    same = np.array([1, 1, 0, 0, 0], "float32")
    d = np.array([[0.0], [0.3], [0.2], [1.0], [2.5]], "float32")
    expected = same * d[:, 0] ** 2 + (1 - same) * np.maximum(0.5 - d[:, 0], 0) ** 2
    loss = pairs.ContrastiveLoss(margin=0.5)
    assert float(loss(same, d)) == pytest.approx(expected.mean(), rel=1e-6)
    config = loss.get_config()
    assert config["margin"] == 0.5
    assert pairs.ContrastiveLoss.from_config(config).margin == 0.5


def test_thresholds_match_brute_force():
    rng = np.random.default_rng(0)
    same = rng.integers(0, 2, 60)
    d = np.round(rng.normal(1.0 - 0.5 * same, 0.4), 1)  # ties on purpose
    t = pairs.best_threshold(d, same)
    brute = max(np.mean((d < c) == (same == 1)) for c in np.concatenate([np.unique(d), [np.inf]]))
    assert pairs.pair_accuracy(d, same, t) == brute
    assert pairs.best_threshold([0.5, 0.5], [1, 0]) in (0.5, np.nextafter(0.5, 1))
    assert pairs.pair_accuracy([[0.2], [0.8]], [[1], [0]], 0.5) == 1.0


def _siamese():
    a, b = keras.Input((4,)), keras.Input((4,))
    enc = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="enc")
    za, zb = enc(a), enc(b)
    d = keras.ops.sqrt(keras.ops.sum(keras.ops.square(za - zb), axis=-1, keepdims=True) + 1e-6)
    return keras.Model([a, b], d), enc


def test_siamese_trains_one_encoder_and_saves_with_the_loss(tmp_path):
    keras.utils.set_random_seed(0)
    model, enc = _siamese()
    assert [id(v) for v in model.weights] == [id(v) for v in enc.weights]
    model.compile(optimizer="sgd", loss=pairs.ContrastiveLoss(margin=2.0))
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    a, b, same = pairs.make_pairs(x, np.arange(16) % 2, 32, seed=0)
    before = [w.copy() for w in enc.get_weights()]
    model.fit([a, b], same, batch_size=8, epochs=1, verbose=0)
    kernel, bias = enc.get_weights()
    assert not np.array_equal(kernel, before[0])  # trained through both branches
    np.testing.assert_array_equal(bias, before[1])  # za - zb cancels the bias: no gradient
    path = tmp_path / "siamese.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.loss).__name__ == "ContrastiveLoss" and loaded.loss.margin == 2.0
    np.testing.assert_array_equal(loaded.predict([a, b], verbose=0), model.predict([a, b], verbose=0))


@pytest.mark.jax_subprocess
def test_on_jax_in_a_subprocess():
    script = textwrap.dedent("""
        import numpy as np, keras
        from kerascool_lib import pairs
        assert keras.backend.backend() == "jax"
        loss = pairs.ContrastiveLoss(margin=1.0, reduction=None)
        print([round(float(v), 4) for v in loss(np.array([1.0, 0.0, 0.0]), np.array([0.5, 0.5, 2.0]))])
        a, b, same = pairs.make_pairs(np.arange(6), [0, 0, 1, 1, 2, 2], 8, seed=0)
        print(a.tolist(), b.tolist(), same.tolist())
    """)
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "[0.25, 0.25, 0.0]"
    a, b, same = pairs.make_pairs(np.arange(6), [0, 0, 1, 1, 2, 2], 8, seed=0)
    assert lines[1] == f"{a.tolist()} {b.tolist()} {same.tolist()}"
