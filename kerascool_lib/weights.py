"""Weights on disk and in memory: save them so a crash never destroys the last good file, and
lend a model other weights for a while.

- :func:`save_weights_atomically`: write a ``.weights.h5`` file so that a crash mid-save never
  destroys the previous one (write to a temporary file, flush it, then rename it over the old).
- :func:`swapped_weights`: use other weights inside a ``with`` block (the best epoch's, an
  average's), then put the model's own back, also when the block raises.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import uuid
from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from kerascool_lib import _checks

__all__ = ["save_weights_atomically", "swapped_weights"]


def _fsync_path(path: pathlib.Path) -> None:
    """Flush a file (or, on POSIX, a folder entry) to the disk; best effort for folders."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:  # e.g. folders cannot be opened on Windows
        if path.is_dir():
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not path.is_dir():
            raise
    finally:
        os.close(fd)


def save_weights_atomically(model: keras.Model, filepath: str | os.PathLike) -> pathlib.Path:
    """Save ``model``'s weights to ``filepath`` so that a failed save leaves the old file intact.

    ``model.save_weights(path)`` opens ``path`` for writing at once, which truncates the file
    there: if the process crashes or the disk fills up mid-save, the previous weights are gone
    and the half-written file does not load. This function writes to a temporary file in the same
    folder, flushes it to the disk, then renames it over ``filepath`` with ``os.replace``, which
    is atomic on POSIX and Windows: at every moment ``filepath`` holds either the old complete
    file or the new complete one. If saving raises, the temporary file is removed and the
    exception propagates; a process killed mid-save may leave a ``.<name>.*.tmp.weights.h5``
    file next to ``filepath``, never a damaged ``filepath``.

    An ``OSError`` (a full disk, a missing permission) is raised again as an ``OSError`` with the
    same ``errno`` and a message that names the file and says that the previous one is intact:
    ``could not save weights to '.../best.weights.h5' (the previous file is intact): [Errno 28]
    No space left on device``.

    Args:
        model: a built ``keras.Model``.
        filepath: where to save; must end in ``.weights.h5``. Missing folders are created.

    Returns:
        ``filepath`` as a ``pathlib.Path``.

    Raises:
        OSError: saving failed; ``filepath`` is as it was before the call.

    Example:

    >>> import tempfile
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = save_weights_atomically(model, f"{folder}/best.weights.h5")
    ...     sorted(p.name for p in path.parent.iterdir())  # no temporary file left behind
    ['best.weights.h5']
    """
    _checks.model(model)
    target = _checks.weights_path(filepath)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(
        f".{target.name[: -len(_checks.WEIGHTS_SUFFIX)]}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp{_checks.WEIGHTS_SUFFIX}"
    )
    existed = target.exists()
    try:
        model.save_weights(tmp)
        _fsync_path(tmp)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            state = "the previous file is intact" if existed else "no file was written there"
            error = OSError(f"could not save weights to '{target}' ({state}): {exc}")
            error.errno = exc.errno  # for `except OSError as e: if e.errno == errno.ENOSPC`
            raise error from exc
        raise
    _fsync_path(target.parent)
    return target


def _as_weight_list(model, weights, name="weights"):
    if isinstance(weights, (str, os.PathLike)):
        path = _checks.weights_path(weights, name)
        if not path.is_file():
            raise _checks.fail(name, "an existing weights file", value=str(path))
        return path
    if isinstance(weights, Sequence) and not isinstance(weights, (str, bytes)):
        expected = [tuple(w.shape) for w in model.weights]
        received = [tuple(np.shape(w)) for w in weights]
        if received != expected:
            raise _checks.fail(
                name, f"a list of arrays with the shapes of model.get_weights(), {len(expected)} arrays",
                f"{len(received)} arrays of shapes {received[:4]}{' ...' if len(received) > 4 else ''}",
            )
        return list(weights)
    raise _checks.fail(
        name, f"a list of arrays (as model.get_weights() returns) or a path to a '{_checks.WEIGHTS_SUFFIX}' file",
        value=weights,
    )


def _apply_weights(model, weights):
    if isinstance(weights, pathlib.Path):
        model.load_weights(weights)
    else:
        model.set_weights(weights)


@contextlib.contextmanager
def swapped_weights(model: keras.Model, weights):
    """Use other weights inside a ``with`` block, then restore the model's own.

    On entry the model's current weights (trainable and non-trainable, e.g. batch-norm
    statistics) are copied, and ``weights`` are put in; on exit the copy is put back, whether the
    block finished or raised, and also when putting ``weights`` in fails halfway (a
    ``.weights.h5`` file from another model, for example, can be loaded partly before it
    raises). A ``.weights.h5`` file saved from a compiled model also holds the optimizer's
    state, which loading it overwrites; the optimizer's variables are restored on exit too.

    Args:
        model: a built ``keras.Model``.
        weights: a list of arrays, as ``model.get_weights()`` returns, or the path of a
            ``.weights.h5`` file saved from the same architecture.

    Yields:
        ``model``, carrying ``weights``.

    Example:

    >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    >>> model.set_weights([np.ones((1, 1))])
    >>> with swapped_weights(model, [np.full((1, 1), 5.0)]):
    ...     float(model.predict(np.ones((1, 1)), verbose=0)[0, 0])
    5.0
    >>> float(model.predict(np.ones((1, 1)), verbose=0)[0, 0])  # the original weights are back
    1.0
    """
    _checks.model(model, built=True)
    weights = _as_weight_list(model, weights)
    original = model.get_weights()
    # a .weights.h5 file of a compiled model also holds its optimizer's state, which
    # load_weights restores too: keep a copy of the optimizer's variables as well
    optimizer = getattr(model, "optimizer", None)
    optimizer_variables = list(optimizer.variables) if optimizer is not None else []
    optimizer_state = [ops.convert_to_numpy(v) for v in optimizer_variables]
    try:
        _apply_weights(model, weights)
        yield model
    finally:
        model.set_weights(original)
        for variable, value in zip(optimizer_variables, optimizer_state):
            variable.assign(value)
