"""kerascool_lib: the tested helpers behind the book *Make Keras Cooler*.

Import it as ``import kerascool_lib as kc``. Importing it changes no global state (no seeds,
no dtype policy, no print options): :func:`setup` does that, when a chapter asks.

Modules, one concept each:

- :mod:`kerascool_lib.data`: MNIST, verified; splits, shapes, ``tf.data`` pipelines.
- :mod:`kerascool_lib.runtime`: run profiles, devices, precision policy, seeds, the run card.
- :mod:`kerascool_lib.models`: the reference MNIST models and their training recipe.
- :mod:`kerascool_lib.plots`: training curves, digit grids, confusion matrices.
- :mod:`kerascool_lib.feeding`: process-safe data feeding: a ``keras.utils.PyDataset`` of
  randomly shifted digits whose batches depend only on (seed, epoch, index), the same batches
  as a generator or a ``tf.data`` pipeline, and a log of the samples a model saw.
- :mod:`kerascool_lib.layers`: custom layers: a weight of their own (a learned scale), several
  outputs (a vector split in halves).
- :mod:`kerascool_lib.losses`: a layer that carries its own loss (the center loss).
- :mod:`kerascool_lib.metrics`: measures of a run's outputs on NumPy arrays: confusion counts,
  class means, how tightly features cluster by class.
- :mod:`kerascool_lib.schedules`: learning-rate schedules: warmup, one-cycle, one after another.
- :mod:`kerascool_lib.weights`: weights on disk and in memory: atomic saves, weights swapped in
  for a while.
- :mod:`kerascool_lib.callbacks`: evaluate anything and keep the best, per-batch warmup, the
  learning rate each step used, variables set on a schedule mid-training.
- :mod:`kerascool_lib.pairs`: siamese pairs: balanced same/different pairs from labelled samples,
  a contrastive loss on distances, and the pair accuracy of a threshold picked on validation pairs.
- :mod:`kerascool_lib.tied`: tied weights: a Dense layer whose kernel, transposed, also maps back
  (a tied autoencoder in one layer that saves and loads with the tie).
- :mod:`kerascool_lib.spectral`: spectral normalization: a wrapper that runs a layer with its
  kernel divided by its largest singular value (right on TensorFlow and JAX), and the singular
  values of every kernel a model uses.
- :mod:`kerascool_lib.surgery`: cut a trained model in two at a layer, and replace or insert a
  layer while keeping the trained weights of all the others.
- :mod:`kerascool_lib.probes`: read inside a model: sub-models of named layers, a layer that
  records a value computed inside ``call`` in a variable, dead-unit and norm statistics per epoch.
- :mod:`kerascool_lib.targetless`: losses without targets: a layer that adds a reconstruction
  error with ``add_loss`` (``fit(x, None)``), and a callback that makes "no loss" an error.
- :mod:`kerascool_lib.progress`: progress bars for your own loops: a ``keras.utils.Progbar`` that
  shows exact weighted means on every line, the last one included.
- :mod:`kerascool_lib.monitors`: a tensor's running mean in the progress bar and ``history`` on
  any backend: the pass-through layer ``TrackMean`` inside a ``Monitored`` model.
- :mod:`kerascool_lib.ema`: weight EMA beside any optimizer: shadow weights updated after every
  step, lent to the model inside a ``with`` block (restored on exceptions), saved on their own.
- :mod:`kerascool_lib.experiments`: run named variants over seeds; tables of mean, min-max, wins
  and paired differences; a stepper over the runs.
- :mod:`kerascool_lib.distribute`: data parallelism on TensorFlow and JAX: simulated devices, a
  ``with`` block that trains on several devices, the replica count a hand-made loss divides by.
- :mod:`kerascool_lib.bench`: honest training benchmarks: FLOPs from layer shapes, the
  machine's matmul rate, epoch clocks that keep evaluation out of the timed span.
- :mod:`kerascool_lib.source`: show library code inside a chapter.
- :mod:`kerascool_lib.widgets`: controls over precomputed results that work without a kernel.
"""

from kerascool_lib import (
    bench,
    callbacks,
    data,
    distribute,
    ema,
    experiments,
    feeding,
    layers,
    losses,
    metrics,
    models,
    monitors,
    pairs,
    plots,
    probes,
    progress,
    runtime,
    schedules,
    spectral,
    surgery,
    targetless,
    tied,
    weights,
    widgets,
)
from kerascool_lib.data import load_mnist, locate_mnist, mnist_splits
from kerascool_lib.runtime import PROFILES, Profile, Run, setup
from kerascool_lib.source import show_source

__version__ = "0.1.0"

#: The public API: every name here is documented with an example and unit-tested.
__all__ = [
    "__version__",
    "bench",
    "callbacks",
    "data",
    "distribute",
    "ema",
    "experiments",
    "feeding",
    "layers",
    "losses",
    "metrics",
    "models",
    "monitors",
    "pairs",
    "plots",
    "probes",
    "progress",
    "runtime",
    "schedules",
    "spectral",
    "surgery",
    "targetless",
    "tied",
    "weights",
    "widgets",
    "load_mnist",
    "locate_mnist",
    "mnist_splits",
    "PROFILES",
    "Profile",
    "Run",
    "setup",
    "show_source",
]
