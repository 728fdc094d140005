"""Model surgery: cut a trained model in two at a layer, replace a layer, insert one after it.

The reusable part of the book's *Model surgery* chapter, for Keras 3 on any backend. Every
function returns models built from the SAME layer objects as the model it was given (not
copies), so the trained weights are shared: training or editing the result changes the
original too. To work on an independent copy, clone it first
(``copy = keras.models.clone_model(model); copy.set_weights(model.get_weights())``).

- :func:`split_model`: ``(front, back)`` with ``back(front(x)) == model(x)``, for Sequential
  and functional models with branches, and a clear error when the cut is not a single-tensor
  boundary (a skip connection or a second input passes by it).
- :func:`replace_layer`: the same model with one layer swapped for another.
- :func:`insert_after`: the same model with a new layer applied to one layer's output.

They use public Keras API only: ``keras.Model`` accepts an intermediate tensor as its input
(Keras 3 rebuilds the graph after it), and ``keras.models.clone_model`` with a
``clone_function`` that returns each layer itself replays the graph on the same layers. The
checks read each tensor's ``_keras_history``, the graph record that Keras's own functional
models walk.
"""

from __future__ import annotations

import difflib

import keras

from kerascool_lib import _checks

__all__ = ["split_model", "replace_layer", "insert_after"]


def _graph_ends(model):
    """The model's input and output structures (Sequential has no ``.input``/``.output`` of its own)."""
    if isinstance(model, keras.Sequential):
        if not model.inputs:
            raise _checks.fail("model", "a built Sequential model (start it with keras.Input)", f"model={model.name!r}, not built")
        return model.inputs[0], model.outputs[0]
    return model.input, model.output


def _node_of(tensor):
    operation, node_index, _ = tensor._keras_history
    return operation, operation._inbound_nodes[node_index]


def _walk(outputs, stop=lambda t: False):
    """Tensors reachable backwards from ``outputs`` without passing through a ``stop`` tensor."""
    seen, stack = {}, list(keras.tree.flatten(outputs))
    while stack:
        tensor = stack.pop()
        if id(tensor) in seen:
            continue
        seen[id(tensor)] = tensor
        if stop(tensor):
            continue
        _, node = _node_of(tensor)
        stack.extend(node.input_tensors)
    return list(seen.values())


def _find_layer(model, at, name="at"):
    """The layer ``at`` (a name or a layer) of ``model``, with close names if it is unknown."""
    if isinstance(at, keras.layers.Layer):
        if not any(layer is at for layer in model.layers):
            raise _checks.fail(name, f"a layer of model {model.name!r}", f"{name}=<layer {at.name!r}>, which is not in it")
        return at
    if not isinstance(at, str):
        raise _checks.fail(name, "a layer name (str) or a layer", f"{name}={at!r} of type {type(at).__name__}")
    names = [layer.name for layer in model.layers]
    if at not in names:
        lower = {n.lower(): n for n in names}  # case-insensitive: "Add" finds "add"
        close = [lower[n] for n in difflib.get_close_matches(at.lower(), list(lower), n=5, cutoff=0.5)]
        hint = f"close names: {close}" if close else f"its layers: {names[:12]}{' ...' if len(names) > 12 else ''}"
        raise _checks.fail(name, f"the name of a layer of model {model.name!r}", f"{name}={at!r}; {hint}")
    return model.get_layer(at)


def _cut_tensor(model, layer, name="at"):
    """The one tensor ``layer`` produces in ``model``'s graph, or a ValueError naming it."""
    inputs, outputs = _graph_ends(model)
    if any(t._keras_history[0] is layer for t in keras.tree.flatten(inputs)):
        raise _checks.fail(name, "a layer after the model's inputs, not an input layer", f"{name}={layer.name!r}")
    made = [t for t in _walk(outputs) if t._keras_history[0] is layer]
    calls = {t._keras_history[1] for t in made}
    if len(calls) != 1:
        raise _checks.fail(name, "a layer called exactly once in the model",
                           f"{name}={layer.name!r}, called {len(calls)} times")
    if len(made) != 1:
        raise _checks.fail(name, "a layer that returns a single tensor",
                           f"{name}={layer.name!r}, which returns {len(made)} tensors used by the model")
    return made[0]


def split_model(model: keras.Model, at) -> tuple[keras.Model, keras.Model]:
    """Cut ``model`` in two after the layer ``at``: ``back(front(x))`` computes ``model(x)``.

    ``front`` maps the model's inputs to the output of ``at``. ``back`` takes a new
    ``keras.Input`` shaped like that tensor, named ``"<at>_output"``, and replays the rest of the
    graph on the same layer objects, so both halves share the model's weights (nothing is
    copied, and their parameter counts add up to the model's). Works for Sequential models and
    for functional models with branches and several inputs, as long as the output of ``at`` is
    the only tensor that passes from the layers before the cut to the layers after it.

    Args:
        model: a built ``keras.Model`` (Sequential or functional).
        at: the layer to cut after: its name, or the layer itself.

    Returns:
        ``(front, back)``: two functional ``keras.Model``s, named ``"<model>_front"`` and
        ``"<model>_back"``.

    Raises:
        ValueError: ``model`` is not a built model; ``at`` is not one of its layers (the message
            lists close names), is an input layer, is called more than once, returns several
            tensors; or the cut is not a single-tensor boundary: the message names the layers
            whose outputs cross it (e.g. the start of a skip connection, or a second input).

    Example:

    >>> import keras
    >>> inputs = keras.Input((4,), name="x")
    >>> h = keras.layers.Dense(3, name="h")(inputs)
    >>> y = keras.layers.Dense(2, name="y")(keras.layers.Activation("relu", name="act")(h))
    >>> model = keras.Model(inputs, y, name="tiny")
    >>> front, back = split_model(model, "act")
    >>> front.output.shape, back.input.name, back.get_layer("y") is model.get_layer("y")
    ((None, 3), 'act_output', True)
    >>> split_model(model, "Act")
    Traceback (most recent call last):
    ...
    ValueError: `at` must be the name of a layer of model 'tiny'. Received: at='Act'; close names: ['act']
    """
    _checks.model(model, built=True)
    inputs, outputs = _graph_ends(model)
    layer = _find_layer(model, at)
    cut = _cut_tensor(model, layer)
    upstream = {id(t._keras_history[0]) for t in _walk([cut])}
    input_ops = {id(t._keras_history[0]) for t in keras.tree.flatten(inputs)}
    before = upstream | input_ops
    after = _walk(outputs, stop=lambda t: t is cut or id(t._keras_history[0]) in before)
    crossing = []
    for tensor in after:
        op = tensor._keras_history[0]
        if tensor is not cut and id(op) in before and op.name not in crossing:
            crossing.append(op.name)
    if crossing:
        raise _checks.fail(
            "at", "a layer whose output is the only tensor passing from the layers before it to the layers after it",
            f"at={layer.name!r}; the outputs of {sorted(crossing)} also reach the layers after it "
            "(a skip connection or another input passes by the cut: cut after the layer where they merge)")
    front = keras.Model(inputs, cut, name=f"{model.name}_front")
    new_input = keras.Input(batch_shape=cut.shape, dtype=cut.dtype, name=f"{layer.name}_output")
    if any(t is cut for t in keras.tree.flatten(outputs)) and len(keras.tree.flatten(outputs)) == 1:
        # an Identity layer: Keras before 3.14 refuses a model whose output is its input
        return front, keras.Model(new_input, keras.layers.Identity(name=f"{layer.name}_identity")(new_input),
                                  name=f"{model.name}_back")
    rest = keras.Model(cut, outputs)  # Keras 3 accepts an inner tensor as input and rebuilds what follows
    back = keras.models.clone_model(rest, input_tensors=new_input, clone_function=lambda op: op)
    return front, keras.Model(back.input, back.output, name=f"{model.name}_back")


def _check_new_layer(model, new_layer):
    _checks.instance(new_layer, "new_layer", keras.layers.Layer, "a keras.layers.Layer")
    if any(layer is new_layer for layer in model.layers):
        raise _checks.fail("new_layer", "a layer that is not already in the model",
                           f"new_layer=<layer {new_layer.name!r}>, which is")
    return new_layer


def replace_layer(model: keras.Model, name, new_layer: keras.layers.Layer) -> keras.Model:
    """The same model with the layer ``name`` replaced by ``new_layer``; every other layer is reused.

    The other layers are the original objects, so they keep their trained weights exactly (and
    share them with ``model``). ``new_layer`` is called where the old layer was, on the same
    inputs; it may be a small model (e.g. a two-layer head). A compiled model's compile settings
    are carried over (a Sequential model is returned uncompiled).

    Args:
        model: a built ``keras.Model`` (Sequential or functional).
        name: the layer to replace: its name, or the layer itself.
        new_layer: a ``keras.layers.Layer`` (or model) not already in ``model``.

    Returns:
        A new ``keras.Model`` of the same kind (Sequential stays Sequential).

    Raises:
        ValueError: ``model`` is not a built model, ``name`` is not one of its layers (close
            names are listed) or is an input layer, or ``new_layer`` is not a layer or is
            already in the model.

    Example:

    >>> import keras
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="h"),
    ...                           keras.layers.Dense(2, name="out")])
    >>> swapped = replace_layer(model, "out", keras.layers.Dense(5, name="wide"))
    >>> [l.name for l in swapped.layers], swapped.get_layer("h") is model.get_layer("h")
    (['h', 'wide'], True)
    """
    _checks.model(model, built=True)
    inputs, _ = _graph_ends(model)
    old = _find_layer(model, name, "name")
    if any(t._keras_history[0] is old for t in keras.tree.flatten(inputs)):
        raise _checks.fail("name", "a layer after the model's inputs, not an input layer", f"name={old.name!r}")
    _check_new_layer(model, new_layer)
    if isinstance(model, keras.Sequential):
        layers = [new_layer if layer is old else layer for layer in model.layers]
        return keras.Sequential([keras.Input(batch_shape=inputs.shape, dtype=inputs.dtype), *layers], name=model.name)
    return keras.models.clone_model(model, clone_function=lambda op: new_layer if op is old else op)


def insert_after(model: keras.Model, name, new_layer: keras.layers.Layer) -> keras.Model:
    """The same model with ``new_layer`` applied to the output of the layer ``name``.

    Whatever read the output of ``name`` now reads the output of ``new_layer``; every layer of
    ``model`` is reused as it is, so trained weights are kept exactly (and shared with
    ``model``). A compiled model's compile settings are carried over (a Sequential model is
    returned uncompiled).

    Args:
        model: a built ``keras.Model`` (Sequential or functional).
        name: the layer after which to insert: its name, or the layer itself; it must be
            called once and return one tensor.
        new_layer: a ``keras.layers.Layer`` (or model) not already in ``model``, which takes
            that tensor.

    Returns:
        A new ``keras.Model`` of the same kind (Sequential stays Sequential).

    Raises:
        ValueError: ``model`` is not a built model, ``name`` is not one of its layers (close
            names are listed), is an input layer, is called more than once or returns several
            tensors, or ``new_layer`` is not a layer or is already in the model.

    Example:

    >>> import keras
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="h"),
    ...                           keras.layers.Dense(2, name="out")])
    >>> longer = insert_after(model, "h", keras.layers.Dropout(0.5, name="drop"))
    >>> [l.name for l in longer.layers]
    ['h', 'drop', 'out']
    """
    _checks.model(model, built=True)
    inputs, _ = _graph_ends(model)
    target = _find_layer(model, name, "name")
    _cut_tensor(model, target, "name")  # called once, one tensor, not an input
    _check_new_layer(model, new_layer)
    if isinstance(model, keras.Sequential):
        layers = []
        for layer in model.layers:
            layers += [layer, new_layer] if layer is target else [layer]
        return keras.Sequential([keras.Input(batch_shape=inputs.shape, dtype=inputs.dtype), *layers], name=model.name)

    def call(layer, *args, **kwargs):
        outputs = layer(*args, **kwargs)
        return new_layer(outputs) if layer is target else outputs

    return keras.models.clone_model(model, clone_function=lambda op: op, call_function=call)
