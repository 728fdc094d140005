"""Unit tests of kerascool_lib.runtime: profiles, the GPU decisions (with fake devices), setup, the run card."""

import numpy as np
import pytest

from kerascool_lib import runtime

CPU = {"type": "CPU", "name": "x86_64 (2 cores)", "compute_capability": None}


def gpu(cc, name="GPU"):
    return {"type": "GPU", "name": name, "compute_capability": cc}


@pytest.mark.parametrize(
    "profile, env, has_gpu, expected",
    [
        (None, {}, False, "cpu"),
        (None, {}, True, "full"),
        (None, {"KERASCOOL_PROFILE": "smoke"}, True, "smoke"),
        (None, {"KERASCOOL_PROFILE": " CPU "}, True, "cpu"),
        ("full", {"KERASCOOL_PROFILE": "smoke"}, False, "full"),
        ("", {"KERASCOOL_PROFILE": "smoke"}, False, "smoke"),
    ],
)
def test_resolve_profile(profile, env, has_gpu, expected):
    assert runtime.resolve_profile(profile, env, has_gpu).name == expected


@pytest.mark.parametrize(
    "devices, expected",
    [
        ([CPU], "float32"),
        ([CPU, gpu((7, 5), "Tesla T4")], "mixed_float16"),
        ([CPU, gpu((7, 0), "Tesla V100")], "mixed_float16"),
        ([CPU, gpu((8, 0), "A100")], "mixed_bfloat16"),
        ([CPU, gpu((8, 9), "L4")], "mixed_bfloat16"),
        ([CPU, gpu((6, 0), "Tesla P100")], "float32"),
        ([CPU, gpu((3, 7), "Tesla K80")], "float32"),
        ([CPU, gpu(None)], "float32"),
        ([CPU, gpu((8, 0)), gpu((7, 5))], "mixed_float16"),
        ([CPU, {"type": "TPU", "name": "TPU v2"}], "mixed_bfloat16"),
        ([], "float32"),
    ],
)
def test_choose_precision(devices, expected):
    assert runtime.choose_precision(devices) == expected


@pytest.mark.parametrize(
    "devices, expected",
    [([CPU], False), ([CPU, gpu((7, 5))], True), ([CPU, {"type": "TPU"}], True), ([], False)],
)
def test_choose_jit_compile(devices, expected):
    assert runtime.choose_jit_compile(devices) is expected
    assert runtime.choose_jit_compile(devices, "tensorflow") is expected
    assert runtime.choose_jit_compile(devices, "jax") is True  # False would run JAX op by op
    assert runtime.choose_jit_compile(devices, "torch") is False


def test_setup_jit_compiles_on_jax_but_not_on_a_tensorflow_cpu():
    import keras

    run = runtime.setup("smoke", verbose=False)
    assert run.jit_compile is (keras.backend.backend() == "jax")


def test_describe_devices_on_this_machine():
    devices = runtime.describe_devices()
    assert devices and devices[0]["type"] == "CPU"
    assert all(set(d) == {"type", "name", "compute_capability"} for d in devices)
    runtime.choose_precision(devices)  # what it returns is accepted by the decisions


@pytest.mark.parametrize(
    "device_type, name, details, expected",
    [
        ("GPU", "/physical_device:GPU:0", {"device_name": "Tesla T4", "compute_capability": (7, 5)},
         {"type": "GPU", "name": "Tesla T4", "compute_capability": (7, 5)}),
        ("GPU", "/physical_device:GPU:0", {}, {"type": "GPU", "name": "/physical_device:GPU:0", "compute_capability": None}),
        ("TPU", "/physical_device:TPU:0", {}, {"type": "TPU", "name": "/physical_device:TPU:0", "compute_capability": None}),
        ("XLA_CPU", "x", {}, None),
    ],
)
def test_device_entries_from_tensorflow_reports(device_type, name, details, expected):
    entry = runtime._device_entry(device_type, name, details)
    assert entry == expected
    if entry:
        runtime.choose_precision([entry])  # every entry is accepted by the decisions


def test_a_reported_t4_gets_mixed_float16_and_xla():
    t4 = runtime._device_entry("GPU", "gpu0", {"device_name": "Tesla T4", "compute_capability": (7, 5)})
    cpu = runtime._device_entry("CPU", "cpu0", {})
    assert runtime.choose_precision([cpu, t4]) == "mixed_float16"
    assert runtime.choose_jit_compile([cpu, t4]) is True
    run = runtime.Run(runtime.PROFILES["full"], 0, [cpu, t4], "mixed_float16", True, {})
    assert run.device == "GPU: Tesla T4"


def test_setup_seeds_everything_and_reports(capsys):
    import keras

    run = runtime.setup("smoke", seed=5)
    a = (np.random.rand(3), keras.ops.convert_to_numpy(keras.random.uniform((3,))))
    runtime.setup("smoke", seed=5, verbose=False)
    b = (np.random.rand(3), keras.ops.convert_to_numpy(keras.random.uniform((3,))))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    out = capsys.readouterr().out
    assert "profile     smoke" in out and f"Keras {keras.__version__}" in out
    assert run.precision == "float32" and keras.mixed_precision.global_policy().name == "float32"
    assert run.jit_compile is (keras.backend.backend() == "jax") and run.device.startswith("CPU")


def test_setup_uses_the_environment(monkeypatch):
    monkeypatch.setenv("KERASCOOL_PROFILE", "cpu")
    assert runtime.setup(verbose=False).profile.name == "cpu"


def test_setup_forced_precision_and_restore():
    import keras

    try:
        run = runtime.setup("smoke", precision="mixed_bfloat16", verbose=False)
        assert run.precision == "mixed_bfloat16"
        assert keras.mixed_precision.global_policy().compute_dtype == "bfloat16"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def make_run(profile="cpu", devices=(CPU,)):
    return runtime.Run(runtime.PROFILES[profile], 0, list(devices), "float32", False,
                       {"python": "3.11", "tensorflow": "2.x", "keras": "3.x", "backend": "tensorflow"})


def test_pick():
    assert make_run("cpu").pick(smoke=1, cpu=5, full=20) == 5
    assert make_run("full").pick(smoke=1, cpu=5, full=20) == 20


def test_header_and_gpu_determinism_note():
    assert "not bitwise deterministic" not in make_run().header()
    header = make_run(devices=[CPU, gpu((7, 5), "Tesla T4")]).header()
    assert "device      GPU: Tesla T4" in header and "not bitwise deterministic" in header


def test_finish(capsys):
    run = make_run()
    record = run.finish(test_accuracy=0.9912, loss=0.03)
    out = capsys.readouterr().out
    assert "test_accuracy 0.9912" in out and "wall time" in out
    assert record["profile"] == "cpu" and record["test_accuracy"] == pytest.approx(0.9912)
    assert run.result is record and record["wall_time_s"] >= 0


def test_run_path_is_a_private_temporary_folder(root):
    run = make_run()
    p = run.path("ckpt/best.weights.h5")
    assert p.parent.is_dir() and root not in p.parents
    assert run.path("other.txt").parent == p.parent.parent


def test_the_cpu_entry_names_the_cpu_model(monkeypatch):
    import os

    from kerascool_lib import _machine

    monkeypatch.setattr(_machine, "cpu_model", lambda: "Test CPU 9000")
    entry = runtime._device_entry("CPU", "/physical_device:CPU:0", {})
    assert entry == {"type": "CPU", "name": f"Test CPU 9000 ({os.cpu_count()} cores)", "compute_capability": None}
    run = runtime.Run(runtime.PROFILES["cpu"], 0, [entry], "float32", False, {})
    assert run.device == f"CPU: Test CPU 9000 ({os.cpu_count()} cores)"


def test_devices_from_a_jax_backend_need_no_tensorflow():
    """On the JAX backend the device report asks JAX, and does not import TensorFlow."""
    import subprocess
    import sys

    script = (
        "import sys; from kerascool_lib import runtime; d = runtime.describe_devices(); "
        "print(d[0]['type'], sum(e['type'] == 'CPU' for e in d), 'tensorflow' in sys.modules)"
    )
    pytest.importorskip("jax")
    env = {**__import__("os").environ, "KERAS_BACKEND": "jax", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["CPU", "1", "False"]


def test_the_run_card_record_round_trips_through_a_notebook():
    run = runtime.Run(runtime.PROFILES["cpu"], 3, [{"type": "CPU", "name": "x"}], "float32", False,
                      {"python": "3.11.7", "keras": "3.15.1", "backend": "tensorflow", "tensorflow": "2.21.0"})
    start = run.record()
    bundle = lambda record: {"output_type": "display_data", "metadata": {}, "data": {"text/plain": "card", runtime.RUN_CARD_MIME: record}}
    end = {"card": "end", "profile": "cpu", "device": run.device, "backend": "tensorflow", "wall_time_s": 12.5, "metrics": {"acc": 0.5}}
    nb = {"cells": [
        {"cell_type": "code", "metadata": {"execution": {"iopub.execute_input": "2026-12-01T10:00:00Z"}}, "outputs": [bundle(start)]},
        {"cell_type": "markdown", "metadata": {}, "source": "x"},
        {"cell_type": "code", "metadata": {}, "outputs": [bundle({**end, "wall_time_s": 1.0}), bundle(end)]},
    ]}
    card = runtime.read_run_card(nb)
    assert card["start"] == start and card["end"] == end  # the last end record counts
    assert (card["profile"], card["backend"], card["wall_time_s"], card["metrics"]) == ("cpu", "tensorflow", 12.5, {"acc": 0.5})
    assert card["versions"]["keras"] == "3.15.1" and card["executed"] == "2026-12-01T10:00:00Z"
    assert start["seed"] == 3 and start["jit_compile"] is False and start["cpu"]
    with pytest.raises(ValueError, match=r"no run card end record \(run.finish\)"):
        runtime.read_run_card({"cells": nb["cells"][:1]})
