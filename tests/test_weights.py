"""Unit tests of kerascool_lib.weights: atomic saves (a failure injected during the write, between
write and rename, and a process killed between them) and weight swaps that restore the originals
on exceptions. Bad input: the table in ``tests/test_bad_input.py``."""

import errno
import os
import pathlib
import re
import signal
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import ops

from _toys import (
    FailingSave,
    two_layer_model,
    weights_equal,
    loaded,
    toy_classification,
    classifier,
    worst_class_accuracy,
    WeightsPerEpoch,
    lr_probe,
    KernelTrace,
)
from kerascool_lib import weights
from kerascool_lib.weights import save_weights_atomically, swapped_weights

ROOT = pathlib.Path(__file__).resolve().parent.parent


# ── save_weights_atomically ───────────────────────────────────────────────────────────────────


def test_atomic_save_round_trip_leaves_only_the_file(tmp_path):
    model = two_layer_model()
    path = save_weights_atomically(model, tmp_path / "sub" / "best.weights.h5")
    assert path == tmp_path / "sub" / "best.weights.h5"
    assert [p.name for p in path.parent.iterdir()] == ["best.weights.h5"]
    assert weights_equal(loaded(path), model.get_weights())


def test_a_plain_save_that_fails_midway_destroys_the_previous_file(tmp_path):
    """Why the atomic save exists: Keras truncates the target first."""
    model = two_layer_model(failing=True)
    path = tmp_path / "best.weights.h5"
    model.save_weights(path)
    FailingSave.fail = True
    try:
        with pytest.raises(OSError, match="disk full"):
            model.save_weights(path)
    finally:
        FailingSave.fail = False
    with pytest.raises(ValueError):
        loaded(path, failing=True)


def test_a_failure_during_the_write_keeps_the_previous_file_intact(tmp_path):
    model = two_layer_model(failing=True)
    path = save_weights_atomically(model, tmp_path / "best.weights.h5")
    before, first = path.read_bytes(), model.get_weights()
    model.set_weights([w + 1 for w in first])
    FailingSave.fail = True
    try:
        with pytest.raises(OSError, match="disk full"):
            save_weights_atomically(model, path)
    finally:
        FailingSave.fail = False
    assert path.read_bytes() == before
    assert weights_equal(loaded(path, failing=True), first)
    assert [p.name for p in tmp_path.iterdir()] == ["best.weights.h5"], "temporary file removed"


@pytest.mark.parametrize("previous", [True, False], ids=["over a previous file", "no previous file"])
def test_a_full_disk_keeps_the_previous_file_and_says_so(tmp_path, previous):
    """ENOSPC from the write itself, after part of the file was written: the error names the
    file and says whether the previous one is intact; it keeps errno; no temporary file is left."""
    model = two_layer_model()
    path = tmp_path / "best.weights.h5"
    if previous:
        save_weights_atomically(model, path)
    before, first = (path.read_bytes(), model.get_weights()) if previous else (None, None)
    model.set_weights([w + 1 for w in model.get_weights()])

    def disk_full(filepath, *args, **kwargs):
        pathlib.Path(filepath).write_bytes(b"\x89HDF\r\n\x1a\n half")  # what a full disk leaves
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    model.save_weights = disk_full
    state = "the previous file is intact" if previous else "no file was written there"
    expected = f"could not save weights to '{path}' ({state}): [Errno 28] {os.strerror(errno.ENOSPC)}"
    with pytest.raises(OSError) as info:
        save_weights_atomically(model, path)
    assert str(info.value) == expected and info.value.errno == errno.ENOSPC
    assert isinstance(info.value.__cause__, OSError), "the original error is chained"
    if previous:
        assert path.read_bytes() == before and weights_equal(loaded(path), first)
    assert sorted(p.name for p in tmp_path.iterdir()) == (["best.weights.h5"] if previous else [])


def test_an_error_that_is_not_an_os_error_propagates_unchanged(tmp_path):
    model = two_layer_model()

    def broken(filepath, *args, **kwargs):
        raise RuntimeError("a bug in a layer's save_own_variables")

    model.save_weights = broken
    with pytest.raises(RuntimeError, match="^a bug in a layer's save_own_variables$"):
        save_weights_atomically(model, tmp_path / "best.weights.h5")
    assert list(tmp_path.iterdir()) == []


def test_a_failure_between_write_and_rename_keeps_the_previous_file_intact(tmp_path, monkeypatch):
    model = two_layer_model()
    path = save_weights_atomically(model, tmp_path / "best.weights.h5")
    before, first = path.read_bytes(), model.get_weights()
    model.set_weights([w + 1 for w in first])

    def crash(src, dst):
        assert pathlib.Path(src).is_file() and pathlib.Path(src).stat().st_size > 0, "written before the rename"
        raise OSError("crash between write and rename (simulated)")

    monkeypatch.setattr(weights.os, "replace", crash)
    with pytest.raises(OSError, match="between write and rename"):
        save_weights_atomically(model, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert weights_equal(loaded(path), first)
    assert [p.name for p in tmp_path.iterdir()] == ["best.weights.h5"]


def test_a_process_killed_between_write_and_rename_leaves_the_previous_file_loadable(tmp_path):
    child = textwrap.dedent(
        """
        import os, signal, sys
        import keras, numpy as np
        from kerascool_lib import weights
        keras.utils.set_random_seed(0)
        inputs = keras.Input((4,))
        model = keras.Model(inputs, keras.layers.Dense(2, name="second")(keras.layers.Dense(3, name="first")(inputs)))
        model.set_weights([np.full(w.shape, 1.0, "float32") for w in model.get_weights()])
        path = sys.argv[1]
        weights.save_weights_atomically(model, path)
        model.set_weights([np.full(w.shape, 2.0, "float32") for w in model.get_weights()])
        weights.os.replace = lambda src, dst: os.kill(os.getpid(), signal.SIGKILL)
        weights.save_weights_atomically(model, path)
        print("not reached")
        """
    )
    path = tmp_path / "best.weights.h5"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    proc = subprocess.run([sys.executable, "-c", child, str(path)], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert "not reached" not in proc.stdout
    weights = loaded(path)
    assert all(np.all(w == 1.0) for w in weights), "the previous (first) save is intact"
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name != "best.weights.h5")
    assert len(leftovers) == 1 and re.fullmatch(r"\.best\.\d+\.[0-9a-f]{8}\.tmp\.weights\.h5", leftovers[0])


# ── swapped_weights ───────────────────────────────────────────────────────────────────────────


def test_swapped_weights_swaps_then_restores(tmp_path):
    model = two_layer_model()
    original = model.get_weights()
    other = [w + 1 for w in original]
    with swapped_weights(model, other) as inside:
        assert inside is model and weights_equal(model.get_weights(), other)
    assert weights_equal(model.get_weights(), original)
    path = save_weights_atomically(two_layer_model(seed=7), tmp_path / "other.weights.h5")
    with swapped_weights(model, path):
        assert weights_equal(model.get_weights(), two_layer_model(seed=7).get_weights())
    assert weights_equal(model.get_weights(), original)


def test_swapped_weights_from_a_file_restores_the_optimizer_state_too(tmp_path):
    x, y = toy_classification()
    model = classifier()
    model.fit(x, y, epochs=1, verbose=0)
    path = save_weights_atomically(model, tmp_path / "epoch1.weights.h5")  # holds Adam's moments too
    model.fit(x, y, epochs=1, verbose=0)
    weights = model.get_weights()
    optimizer_state = [ops.convert_to_numpy(v) for v in model.optimizer.variables]
    with swapped_weights(model, path):
        loaded_state = [ops.convert_to_numpy(v) for v in model.optimizer.variables]
        assert not weights_equal(loaded_state, optimizer_state), "load_weights also loaded the optimizer"
    assert weights_equal(model.get_weights(), weights)
    assert weights_equal([ops.convert_to_numpy(v) for v in model.optimizer.variables], optimizer_state)


def test_swapped_weights_restores_when_the_block_raises():
    model = two_layer_model()
    original = model.get_weights()
    with pytest.raises(RuntimeError, match="inside"):
        with swapped_weights(model, [w * 0 for w in original]):
            raise RuntimeError("inside the block")
    assert weights_equal(model.get_weights(), original)


def test_swapped_weights_restores_when_loading_fails_halfway(tmp_path):
    wider = save_weights_atomically(two_layer_model(out=5, seed=3), tmp_path / "wider.weights.h5")
    model = two_layer_model()
    original = model.get_weights()
    with pytest.raises(ValueError):
        with swapped_weights(model, wider):  # "first" loads, then "second" does not fit
            pytest.fail("the block must not run")
    assert weights_equal(model.get_weights(), original)
