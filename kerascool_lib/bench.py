"""Measure training honestly: FLOPs from layer shapes, the machine's matmul rate, epoch clocks.

The book's appendix races the reference models against the recipes readers would otherwise
copy. Three small tools make that race honest, and work on any Keras model:

- :func:`training_flops`: the floating-point work of training on ``samples`` examples, counted
  from the layer shapes (2 FLOPs per multiply-add, training = 3 x the forward pass);
- :func:`matmul_rate`: what this machine's backend reaches on a large float32 matmul, the
  yardstick for "how much of the hardware does my training use";
- :class:`EpochClock`: a callback timing each epoch's training (wall and CPU seconds), then,
  outside the timed span, evaluating on held-out data and recording the time to a target
  accuracy.
"""

from __future__ import annotations

import math
import statistics
import time

import keras
import numpy as np

from kerascool_lib import _checks

__all__ = ["forward_flops", "training_flops", "matmul_rate", "EpochClock"]


def _conv_macs(layer) -> int:
    out = layer.output.shape
    kernel = layer.kernel.shape  # (*window, in_channels // groups, out_channels)
    positions = math.prod(int(d) for d in out[1:-1])
    return positions * math.prod(int(d) for d in kernel)


def forward_flops(model: keras.Model) -> int:
    """FLOPs of one example's forward pass through ``model``'s convolutions and dense layers.

    Counted from the layer shapes, 2 FLOPs per multiply-add: a ``Dense`` layer costs
    ``2 * inputs * units``, a ``Conv1D/2D/3D`` layer ``2 * output positions * window * in
    channels * out channels``. Biases, activations, pooling, normalization and the loss are
    left out (they are a few percent of the work and run at memory speed, not matmul speed),
    so the count is a lower bound of the work done. Nested models are walked.

    Args:
        model: a built Keras model.

    Returns:
        FLOPs per example (an int).

    Example:

    >>> inputs = keras.Input((28, 28, 1))
    >>> x = keras.layers.Conv2D(8, 3)(inputs)            # 26*26 positions x 3*3*1*8 MACs
    >>> x = keras.layers.Flatten()(x)
    >>> model = keras.Model(inputs, keras.layers.Dense(10)(x))  # 5408*10 MACs
    >>> forward_flops(model) == 2 * (26 * 26 * 9 * 8 + 26 * 26 * 8 * 10)
    True
    """
    _checks.model(model, built=True)
    macs = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            macs += forward_flops(layer) // 2
        elif isinstance(layer, keras.layers.Dense):
            macs += int(layer.kernel.shape[0]) * int(layer.kernel.shape[1])
        elif isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)) and not isinstance(
            layer, (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose)
        ):
            macs += _conv_macs(layer)
    return 2 * macs


def training_flops(model: keras.Model, samples: int = 1, *, backward_factor: float = 2.0) -> int:
    """FLOPs of training ``model`` on ``samples`` examples (one epoch: the training set's size).

    The backward pass costs about twice the forward pass (the gradients with respect to the
    inputs and to the weights are one matmul each), so training is ``(1 + backward_factor)``
    forward passes: 3x by default, the usual rule of thumb.

    Args:
        model: a built Keras model.
        samples: examples seen (>= 1).
        backward_factor: the backward pass's cost in forward passes (>= 0).

    Returns:
        FLOPs (an int), as :func:`forward_flops` counts them.

    Example:

    >>> model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
    >>> training_flops(model, samples=1000)  # 3 x 2 x 784 x 10 x 1000
    47040000
    """
    samples = _checks.integer(samples, "samples", 1)
    factor = _checks.number(backward_factor, "backward_factor", 0, math.inf, high_open=True)
    return int(round(forward_flops(model) * (1 + factor) * samples))


def matmul_rate(size: int = 2048, repeats: int = 7) -> float:
    """This machine's float32 matmul rate in FLOP/s: the median of ``repeats`` warm runs.

    Multiplies two ``size x size`` float32 matrices with the Keras backend on its default
    device (all CPU cores, or the GPU), after one warm-up run, and counts ``2 * size**3``
    FLOPs per product. It is the practical peak that a training step's convolutions and dense
    layers can hope for; "utilization" in the book is a training epoch's
    :func:`training_flops` per second divided by this rate.

    Args:
        size: the matrices' side (>= 16); 2048 takes a few hundredths of a second on a CPU.
        repeats: timed runs (>= 1); the median is returned.

    Example:

    >>> rate = matmul_rate(size=256, repeats=3)
    >>> rate > 1e8  # any machine since ~2005 does 0.1 GFLOP/s
    True
    """
    size = _checks.integer(size, "size", 16)
    repeats = _checks.integer(repeats, "repeats", 1)
    rng = np.random.default_rng(0)
    a = keras.ops.convert_to_tensor(rng.standard_normal((size, size), dtype=np.float32))
    b = keras.ops.convert_to_tensor(rng.standard_normal((size, size), dtype=np.float32))

    def once():
        start = time.perf_counter()
        # Reducing to one number forces the product to finish without copying it to the host.
        float(keras.ops.convert_to_numpy(keras.ops.sum(keras.ops.matmul(a, b))))
        return time.perf_counter() - start

    once()
    seconds = statistics.median(once() for _ in range(repeats))
    return 2.0 * size**3 / seconds


def _cpu_seconds() -> float:
    return time.process_time()


class EpochClock(keras.callbacks.Callback):
    """Time each epoch's training, then evaluate outside the timed span; stop at a target.

    ``on_epoch_begin`` to ``on_epoch_end`` is the epoch's *training* time: the steps, plus
    whatever ``fit`` does inside the epoch (its own ``validation_data``/``validation_split``
    pass, if the recipe asks for one). Then, with the clock stopped, the model is evaluated on
    ``(x_eval, y_eval)`` and the time that took is recorded apart. ``records`` holds one dict
    per epoch:

    - ``epoch`` (1-based), ``train_seconds``, ``eval_seconds``;
    - ``cpu_per_wall``: the process's CPU seconds per wall second while training. On an idle
      machine it approaches the cores the backend uses (about 2 on two cores); a much lower
      value means other programs took the CPU and the epoch's time is not a measurement;
    - ``accuracy``: on the evaluation data;
    - ``cumulative_seconds``: training seconds so far (evaluation excluded);
    - ``time_to_target``: ``cumulative_seconds`` of the first epoch whose accuracy reached
      ``target``, else None.

    Args:
        x_eval: evaluation inputs (e.g. the 10,000 test images).
        y_eval: their integer labels.
        target: the accuracy to race to, in ``(0, 1]``, or None.
        stop_at_target: end training at the first epoch that reaches ``target``.
        batch_size: evaluation batch size.

    Example:

    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    >>> model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> x, y = np.eye(4, dtype="float32"), np.array([0, 1, 0, 1])
    >>> clock = EpochClock(x, y, target=1.0)
    >>> _ = model.fit(x, y, epochs=2, verbose=0, callbacks=[clock])
    >>> len(clock.records), sorted(clock.records[0])
    (2, ['accuracy', 'cpu_per_wall', 'cumulative_seconds', 'epoch', 'eval_seconds', 'time_to_target', 'train_seconds'])
    """

    def __init__(self, x_eval, y_eval, *, target: float | None = None, stop_at_target: bool = False,
                 batch_size: int = 1000):
        super().__init__()
        # arrays, or lists and dicts of arrays for models with several inputs or outputs
        n = _checks.sample_count(
            {"x_eval": x_eval}, "x_eval",
            "a non-empty batch of inputs: an array, or a list or dict of arrays with one common number of samples",
        )
        _checks.sample_count({"x_eval": x_eval, "y_eval": y_eval}, "y_eval", f"one label per input ({n})")
        if target is not None:
            target = _checks.number(target, "target", 0, 1, low_open=True)
        _checks.boolean(stop_at_target, "stop_at_target")
        if stop_at_target and target is None:
            raise _checks.fail("target", "a number when stop_at_target=True", value=target)
        self.x_eval, self.y_eval = x_eval, y_eval
        self.target, self.stop_at_target = target, stop_at_target
        self.batch_size = _checks.integer(batch_size, "batch_size", 1)
        self.records: list[dict] = []
        self.time_to_target: float | None = None
        self._cumulative = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._cpu = _cpu_seconds()
        self._wall = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        wall = time.perf_counter() - self._wall
        cpu = _cpu_seconds() - self._cpu
        self._cumulative += wall
        start = time.perf_counter()
        result = self.model.evaluate(self.x_eval, self.y_eval, batch_size=self.batch_size, verbose=0,
                                     return_dict=True)
        eval_seconds = time.perf_counter() - start
        accuracy = next((float(v) for k, v in result.items() if "acc" in k), None)
        if accuracy is None:
            raise ValueError(
                f"EpochClock needs an accuracy metric: compile the model with metrics=['accuracy']. "
                f"Received metrics: {sorted(result)}"
            )
        if self.time_to_target is None and self.target is not None and accuracy >= self.target:
            self.time_to_target = self._cumulative
        self.records.append({
            "epoch": len(self.records) + 1,
            "train_seconds": wall,
            "eval_seconds": eval_seconds,
            "cpu_per_wall": cpu / wall if wall > 0 else 0.0,
            "accuracy": accuracy,
            "cumulative_seconds": self._cumulative,
            "time_to_target": self.time_to_target,
        })
        if self.stop_at_target and self.time_to_target is not None:
            self.model.stop_training = True
