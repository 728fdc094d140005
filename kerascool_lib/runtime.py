"""Set up a chapter's run: seeds, run profile, devices, precision policy and the run card.

Every chapter starts with ``run = kc.setup(profile)`` and ends with ``run.finish(...)``.
The decisions in between are pure functions of plain data (:func:`resolve_profile`,
:func:`choose_precision`, :func:`choose_jit_compile`) so that the GPU paths can be unit-tested
on a CPU with fake device descriptions.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import pathlib
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence

from kerascool_lib import _checks, _machine

__all__ = [
    "PROFILES",
    "Profile",
    "Run",
    "describe_devices",
    "resolve_profile",
    "choose_precision",
    "choose_jit_compile",
    "setup",
    "RUN_CARD_MIME",
    "read_run_card",
]

#: The MIME type of the run card's structured record. :func:`setup` and :meth:`Run.finish`
#: display the card as text for readers together with this JSON record for tools (the book's
#: statistics page, the tests), which read it back with :func:`read_run_card`.
RUN_CARD_MIME = "application/vnd.kerascool.run+json"


@dataclasses.dataclass(frozen=True)
class Profile:
    """How much work a run does. Chapters scale their data and epochs by it.

    Attributes:
        name: ``"smoke"``, ``"cpu"`` or ``"full"``.
        train_size: training samples to use (None: all 55,000 after the validation split).
        val_size: validation samples split off the training set.
        test_size: test samples to evaluate on (None: all 10,000).
        description: one line for the run card.

    Example:

    >>> PROFILES["smoke"].train_size, PROFILES["cpu"].train_size
    (2000, None)
    """

    name: str
    train_size: int | None
    val_size: int
    test_size: int | None
    description: str

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"`name` must be a non-empty string. Received: name={self.name!r}")
        _checks.optional_integer(self.train_size, "train_size", 1)
        _checks.integer(self.val_size, "val_size", 0)
        _checks.optional_integer(self.test_size, "test_size", 1)


#: The run profiles by name: ``"smoke"``, ``"cpu"`` and ``"full"`` (see :class:`Profile`).
PROFILES: dict[str, Profile] = {
    "smoke": Profile("smoke", 2000, 500, 1000, "a quick check on a small slice; its numbers are not results"),
    "cpu": Profile("cpu", None, 5000, None, "the book's stored outputs: real results on 2 CPU cores"),
    "full": Profile("full", None, 5000, None, "a GPU (e.g. Colab): the chapter's full recipe"),
}


def resolve_profile(profile: str | None, env: Mapping[str, str], has_gpu: bool) -> Profile:
    """Choose the run profile: the argument, else ``KERASCOOL_PROFILE``, else by device.

    Args:
        profile: a profile name or None.
        env: the environment (``os.environ``) to read ``KERASCOOL_PROFILE`` from.
        has_gpu: whether a GPU is visible; decides between ``full`` and ``cpu``.

    Example:

    >>> resolve_profile(None, {"KERASCOOL_PROFILE": "smoke"}, has_gpu=True).name
    'smoke'
    >>> resolve_profile(None, {}, has_gpu=False).name
    'cpu'
    >>> resolve_profile("full", {"KERASCOOL_PROFILE": "smoke"}, has_gpu=False).name
    'full'
    """
    if not isinstance(env, Mapping):
        raise ValueError(f"`env` must be a mapping such as os.environ. Received: env={env!r}")
    if profile is not None and not isinstance(profile, str):
        raise ValueError(
            f"`profile` must be one of {sorted(PROFILES)} or None. Received: profile={profile!r}"
        )
    if profile:
        source, name = "profile", profile
    elif env.get("KERASCOOL_PROFILE"):
        source, name = "KERASCOOL_PROFILE", env["KERASCOOL_PROFILE"]
    else:
        source, name = None, "full" if has_gpu else "cpu"
    key = name.strip().lower()
    if key not in PROFILES:
        raise ValueError(
            f"`{source}` must be one of {sorted(PROFILES)}. Received: {source}={name!r}"
        )
    return PROFILES[key]


def describe_devices() -> list[dict]:
    """The devices the Keras backend sees, as plain dicts ``{"type", "name", "compute_capability"}``.

    ``compute_capability`` is a ``(major, minor)`` tuple for NVIDIA GPUs and None otherwise.
    The result is what :func:`choose_precision` and :func:`choose_jit_compile` take. On the
    TensorFlow backend it asks ``tf.config``; on JAX, ``jax.devices()`` (so a JAX reader needs
    no TensorFlow for it). The CPU is listed once, however many host devices there are.

    Example:

    >>> devices = describe_devices()
    >>> devices[0]["type"]
    'CPU'
    """
    import keras

    found = []  # (device_type, name, details)
    if keras.backend.backend() == "jax":
        import jax

        for dev in jax.devices() + ([] if jax.default_backend() == "cpu" else jax.devices("cpu")):
            cc = getattr(dev, "compute_capability", None)
            details = {"device_name": getattr(dev, "device_kind", str(dev))}
            if cc:
                details["compute_capability"] = tuple(int(p) for p in str(cc).split(".")[:2])
            found.append((dev.platform.upper(), str(dev), details))
    else:
        import tensorflow as tf

        for dev in tf.config.list_physical_devices():
            details = {}
            if dev.device_type == "GPU":
                try:
                    details = tf.config.experimental.get_device_details(dev)
                except Exception:  # no details on some platforms
                    details = {}
            found.append((dev.device_type, dev.name, details))
    out, cpu_seen = [], False
    for device_type, name, details in found:
        entry = _device_entry(device_type, name, details)
        if entry is None or (entry["type"] == "CPU" and cpu_seen):
            continue
        cpu_seen = cpu_seen or entry["type"] == "CPU"
        out.append(entry)
    if not cpu_seen:
        out.append(_device_entry("CPU", "cpu", {}))
    return sorted(out, key=lambda e: e["type"] != "CPU")


def _device_entry(device_type: str, name: str, details: Mapping) -> dict | None:
    """One entry of :func:`describe_devices` from what the backend reports (pure, for tests)."""
    if device_type not in ("CPU", "GPU", "TPU"):
        return None
    entry = {"type": device_type, "name": name, "compute_capability": None}
    if device_type == "GPU":
        entry["name"] = details.get("device_name", name)
        cc = details.get("compute_capability")
        entry["compute_capability"] = tuple(cc) if cc else None
    elif device_type == "CPU":
        entry["name"] = f"{_machine.cpu_model()} ({os.cpu_count()} cores)"
    return entry


def _check_devices(devices):
    if not isinstance(devices, Sequence) or isinstance(devices, (str, bytes)):
        raise ValueError(
            f"`devices` must be a list of dicts as describe_devices() returns. Received: {devices!r}"
        )
    for d in devices:
        if not isinstance(d, Mapping) or d.get("type") not in ("CPU", "GPU", "TPU"):
            raise ValueError(
                "`devices` entries must be dicts with 'type' in ('CPU', 'GPU', 'TPU'). "
                f"Received: {d!r}"
            )
    return devices


def choose_precision(devices: Sequence[Mapping]) -> str:
    """The Keras dtype policy that is fastest without hurting accuracy on these devices.

    - a TPU: ``"mixed_bfloat16"``;
    - NVIDIA GPUs of compute capability 8.0 or newer (A100, L4, RTX 30xx/40xx):
      ``"mixed_bfloat16"`` (tensor cores, float32's range, no loss scaling needed);
    - compute capability 7.x (V100, T4 — Colab's free GPU): ``"mixed_float16"``;
    - older GPUs, unknown GPUs and CPUs: ``"float32"`` (no fast half precision there).

    With several GPUs the weakest decides.

    Example:

    >>> choose_precision([{"type": "CPU"}])
    'float32'
    >>> choose_precision([{"type": "CPU"}, {"type": "GPU", "compute_capability": (7, 5)}])
    'mixed_float16'
    >>> choose_precision([{"type": "GPU", "compute_capability": (8, 0)}])
    'mixed_bfloat16'
    """
    devices = _check_devices(devices)
    if any(d["type"] == "TPU" for d in devices):
        return "mixed_bfloat16"
    gpus = [d for d in devices if d["type"] == "GPU"]
    if not gpus:
        return "float32"
    caps = [d.get("compute_capability") for d in gpus]
    if any(c is None for c in caps):
        return "float32"
    weakest = min(tuple(c) for c in caps)
    if weakest >= (8, 0):
        return "mixed_bfloat16"
    if weakest >= (7, 0):
        return "mixed_float16"
    return "float32"


def choose_jit_compile(devices: Sequence[Mapping], backend: str = "tensorflow") -> bool:
    """Whether to compile training steps with XLA, on the Keras ``backend`` in use.

    - **JAX**: always ``True``. There ``jit_compile=False`` runs every operation eagerly, one
      by one (the book measured an MLP's epoch ~30x slower); ``True`` is Keras's own default.
    - **TensorFlow**: on accelerators ``True``; on CPUs ``False``, Keras's own default there
      (``jit_compile="auto"``): on the 2-core CPUs the book runs on, XLA made the reference
      MNIST CNN's training steps slower, while GPUs and TPUs gain from its fused kernels.

    Args:
        devices: :func:`describe_devices` output (dicts with a ``"type"``).
        backend: ``keras.backend.backend()``: ``"tensorflow"``, ``"jax"`` or ``"torch"``
            (``False``: Keras does not compile PyTorch steps with XLA).

    Example:

    >>> choose_jit_compile([{"type": "CPU"}])
    False
    >>> choose_jit_compile([{"type": "CPU"}, {"type": "GPU", "compute_capability": (7, 5)}])
    True
    >>> choose_jit_compile([{"type": "CPU"}], backend="jax")
    True
    """
    devices = _check_devices(devices)
    backend = _checks.one_of(backend, "backend", ("tensorflow", "jax", "torch"))
    if backend == "jax":
        return True
    if backend == "torch":
        return False
    return any(d["type"] in ("GPU", "TPU") for d in devices)


def _versions() -> dict[str, str]:
    import keras

    versions = {"python": platform.python_version(), "keras": keras.__version__, "backend": keras.backend.backend()}
    for module in ("tensorflow", "jax"):
        if module == keras.backend.backend() or module == "tensorflow" and module in sys.modules:
            versions[module] = getattr(sys.modules.get(module) or __import__(module), "__version__", "?")
    return versions


def _show_card(text: str, record: dict) -> None:
    """Show the run card: as a display bundle (text for readers, JSON for tools) in a notebook,
    as plain text anywhere else."""
    shell = None
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        pass
    if shell is None or not hasattr(shell, "display_pub"):
        print(text)
        return
    from IPython.display import display

    display({"text/plain": text, RUN_CARD_MIME: record}, raw=True)


def _outputs(nb):
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            yield cell, cell.get("outputs", [])


def read_run_card(nb) -> dict:
    """The run card of a notebook's stored run, from the records :func:`setup` and
    :meth:`Run.finish` displayed.

    Args:
        nb: a notebook as a dict (``json.load`` of an ``.ipynb`` file, or ``nbformat.read``).

    Returns:
        A dict with the first ``start`` record and the last ``end`` record as they were
        displayed, and for convenience ``profile``, ``device``, ``backend``, ``versions``,
        ``wall_time_s``, ``metrics`` and ``executed`` (when the first cell ran, as the
        notebook's execution metadata records it, or None).

    Raises:
        ValueError: naming what is missing (no ``kc.setup`` or no ``run.finish`` record).

    Example:

    >>> card = lambda record: {"output_type": "display_data", "metadata": {},
    ...                        "data": {"text/plain": "...", RUN_CARD_MIME: record}}
    >>> nb = {"cells": [
    ...     {"cell_type": "code", "metadata": {}, "outputs": [card({"card": "start", "profile": "cpu",
    ...         "device": "CPU: x", "backend": "jax", "versions": {"keras": "3.15.1"}})]},
    ...     {"cell_type": "code", "metadata": {}, "outputs": [card({"card": "end", "profile": "cpu",
    ...         "device": "CPU: x", "backend": "jax", "wall_time_s": 32.9, "metrics": {"acc": 0.99}})]}]}
    >>> r = read_run_card(nb)
    >>> r["profile"], r["backend"], r["wall_time_s"], r["metrics"]
    ('cpu', 'jax', 32.9, {'acc': 0.99})
    """
    if not isinstance(nb, Mapping) or not isinstance(nb.get("cells"), list):
        raise ValueError(f"`nb` must be a notebook: a dict with a list of 'cells'. Received: {type(nb).__name__}")
    records = []
    executed = None
    for cell, outputs in _outputs(nb):
        stamp = cell.get("metadata", {}).get("execution", {}).get("iopub.execute_input")
        executed = executed or stamp
        for out in outputs:
            record = out.get("data", {}).get(RUN_CARD_MIME) if isinstance(out.get("data"), Mapping) else None
            if isinstance(record, str):  # some writers keep JSON as text
                import json

                record = json.loads(record)
            if isinstance(record, Mapping):
                records.append(dict(record))
    start = next((r for r in records if r.get("card") == "start"), None)
    end = next((r for r in reversed(records) if r.get("card") == "end"), None)
    if start is None:
        raise ValueError("no run card start record (kc.setup) in the stored outputs")
    if end is None:
        raise ValueError("no run card end record (run.finish) in the stored outputs")
    return {
        "start": start,
        "end": end,
        "profile": end.get("profile", start.get("profile")),
        "device": end.get("device", start.get("device")),
        "backend": end.get("backend", start.get("backend")),
        "versions": dict(start.get("versions", {})),
        "wall_time_s": end.get("wall_time_s"),
        "metrics": dict(end.get("metrics", {})),
        "executed": executed,
    }


@dataclasses.dataclass
class Run:
    """What :func:`setup` decided, and the chapter's run card.

    Attributes:
        profile: the :class:`Profile` in force.
        seed: the seed given to Keras, NumPy and Python.
        devices: :func:`describe_devices` output.
        precision: the global Keras dtype policy that was set.
        jit_compile: what to pass to ``model.compile(jit_compile=...)``.
        versions: Python, TensorFlow, Keras and backend versions.
        started: ``time.perf_counter()`` at set-up.

    Example:

    >>> run = setup("smoke", verbose=False)
    >>> run.profile.name, run.pick(smoke=1, cpu=5, full=5), run.device.startswith("CPU")
    ('smoke', 1, True)
    """

    profile: Profile
    seed: int
    devices: list
    precision: str
    jit_compile: bool
    versions: dict
    started: float = dataclasses.field(default_factory=time.perf_counter)
    result: dict | None = None
    _workdir: pathlib.Path | None = dataclasses.field(default=None, repr=False)

    def path(self, name: str) -> pathlib.Path:
        """A path for a file this run writes (checkpoints, weights, logs), outside the repository.

        Files live in a private temporary folder made on first use and deleted when the
        Python process (the notebook's kernel) exits, so rerunning a chapter never leaves
        files behind or reads a stale one.

        Example:

        >>> run = Run(PROFILES["smoke"], 0, [{"type": "CPU", "name": "x"}], "float32", False, {})
        >>> p = run.path("best.weights.h5")
        >>> p.name, p.parent.is_dir(), p.exists()
        ('best.weights.h5', True, False)
        """
        if not isinstance(name, str) or not name or pathlib.PurePath(name).is_absolute() or ".." in pathlib.PurePath(name).parts:
            raise ValueError(
                f"`name` must be a relative file name inside the run folder. Received: name={name!r}"
            )
        if self._workdir is None:
            self._workdir = pathlib.Path(tempfile.mkdtemp(prefix="kerascool-run-"))
            atexit.register(shutil.rmtree, self._workdir, ignore_errors=True)
        target = self._workdir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    @property
    def device(self) -> str:
        """The device training runs on, as the run card names it."""
        accel = [d for d in self.devices if d["type"] != "CPU"]
        d = (accel or self.devices or [{"type": "CPU", "name": "unknown"}])[0]
        return f"{d['type']}: {d.get('name')}"

    def pick(self, **by_profile):
        """The value for the profile in force, e.g. ``epochs = run.pick(smoke=1, cpu=5, full=20)``.

        Example:

        >>> run = Run(PROFILES["smoke"], 0, [{"type": "CPU", "name": "x"}], "float32", False, {})
        >>> run.pick(smoke=1, cpu=5, full=20)
        1
        """
        missing = sorted(set(PROFILES) - set(by_profile))
        unknown = sorted(set(by_profile) - set(PROFILES))
        if missing or unknown:
            raise ValueError(
                f"Run.pick() needs one value for each of {sorted(PROFILES)}. "
                f"Received: {sorted(by_profile)} (missing {missing}, unknown {unknown})"
            )
        return by_profile[self.profile.name]

    def record(self) -> dict:
        """The run card's start record, as :func:`setup` displays it (see :data:`RUN_CARD_MIME`)."""
        return {
            "card": "start",
            "profile": self.profile.name,
            "device": self.device,
            "cpu": _machine.cpu_model(),
            "backend": self.versions.get("backend"),
            "versions": dict(self.versions),
            "seed": self.seed,
            "precision": self.precision,
            "jit_compile": self.jit_compile,
        }

    def header(self) -> str:
        """The run card's header: where and how this chapter runs."""
        v = self.versions
        stack = " · ".join(
            f"{label} {v[key]}" for key, label in (("python", "Python"), ("tensorflow", "TensorFlow"), ("jax", "JAX"), ("keras", "Keras"))
            if key in v
        )
        lines = [
            "── run card ─────────────────────────────────────────",
            f"device      {self.device}",
            f"backend     {v.get('backend')} · {stack}",
            f"profile     {self.profile.name} — {self.profile.description}",
            f"seed        {self.seed} · precision {self.precision} · jit_compile {self.jit_compile}",
        ]
        if any(d["type"] != "CPU" for d in self.devices):
            lines.append("note        GPU kernels are not bitwise deterministic: reruns may differ slightly")
        return "\n".join(lines)

    def finish(self, **metrics) -> dict:
        """Print the run card's footer (profile, wall time, headline metric) and return it.

        Pass the chapter's headline metric(s) as keyword arguments, e.g.
        ``run.finish(test_accuracy=0.992)``.

        Example:

        >>> run = Run(PROFILES["cpu"], 0, [{"type": "CPU", "name": "x"}], "float32", False, {})
        >>> record = run.finish(test_accuracy=0.99)  # doctest: +ELLIPSIS
        ── run card (end) ...
        >>> record["test_accuracy"]
        0.99
        """
        if not metrics:
            raise ValueError("Run.finish() needs the headline metric, e.g. run.finish(test_accuracy=0.99)")
        for k, val in metrics.items():
            if not isinstance(val, (int, float)) or isinstance(val, bool):
                raise ValueError(
                    f"Run.finish() metrics must be numbers. Received: {k}={val!r}"
                )
        wall = time.perf_counter() - self.started
        self.result = {
            "profile": self.profile.name,
            "device": self.device,
            "wall_time_s": round(wall, 1),
            **{k: float(v) for k, v in metrics.items()},
        }
        shown = " · ".join(f"{k} {v:.4g}" for k, v in metrics.items())
        _show_card(
            "── run card (end) ───────────────────────────────────\n"
            f"device      {self.device}\n"
            f"backend     {self.versions.get('backend')}\n"
            f"profile     {self.profile.name} · wall time {wall:.1f} s\n"
            f"result      {shown}",
            {
                "card": "end",
                "profile": self.profile.name,
                "device": self.device,
                "backend": self.versions.get("backend"),
                "wall_time_s": round(wall, 1),
                "metrics": {k: float(v) for k, v in metrics.items()},
            },
        )
        return self.result


def setup(
    profile: str | None = None,
    seed: int = 0,
    *,
    precision: str | None = None,
    verbose: bool = True,
) -> Run:
    """Prepare a chapter's run and print its run card header.

    - seeds Python, NumPy and the backend (``keras.utils.set_random_seed``);
    - resolves the profile (:func:`resolve_profile`);
    - reports the devices and sets the global dtype policy (:func:`choose_precision`,
      unless ``precision`` is given);
    - decides ``jit_compile`` for ``model.compile`` (:func:`choose_jit_compile`).

    Args:
        profile: ``"smoke"``, ``"cpu"``, ``"full"`` or None (``KERASCOOL_PROFILE``, else by device).
        seed: a non-negative integer.
        precision: force a Keras dtype policy, e.g. ``"float32"``.
        verbose: print the run card header.

    Example:

    >>> run = setup("smoke", seed=0, verbose=False)
    >>> run.profile.name, run.precision
    ('smoke', 'float32')
    """
    import keras

    seed = _checks.integer(seed, "seed", 0)
    devices = describe_devices()
    has_gpu = any(d["type"] == "GPU" for d in devices)
    prof = resolve_profile(profile, os.environ, has_gpu)
    chosen = precision or choose_precision(devices)
    try:
        keras.mixed_precision.set_global_policy(chosen)
    except ValueError as exc:
        raise ValueError(
            "`precision` must be a Keras dtype policy such as 'float32', 'mixed_float16' or "
            f"'mixed_bfloat16'. Received: precision={precision!r}"
        ) from exc
    keras.utils.set_random_seed(seed)
    run = Run(prof, seed, devices, chosen, choose_jit_compile(devices, keras.backend.backend()), _versions())
    if verbose:
        _show_card(run.header(), run.record())
        sys.stdout.flush()
    return run
