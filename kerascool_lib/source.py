"""Show the library's code inside a chapter, so readers see what they import."""

from __future__ import annotations

import inspect
import textwrap

__all__ = ["show_source"]


def show_source(obj) -> None:
    """Display the source code of a function or class as a highlighted code block.

    In a notebook the code is rendered as Markdown; elsewhere it is printed.

    Args:
        obj: a function, class or method (from ``kerascool_lib`` or anywhere else).

    Example:

    >>> from kerascool_lib.data import to_flat
    >>> show_source(to_flat)  # doctest: +ELLIPSIS
    ```python
    def to_flat(x) -> np.ndarray:
    ...
    """
    try:
        text = inspect.getsource(obj)
    except (TypeError, OSError) as exc:
        raise ValueError(
            "`obj` must be a Python function, class or method defined in a source file. "
            f"Received: {obj!r} ({type(obj).__name__})"
        ) from exc
    text = textwrap.dedent(text).rstrip("\n")
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # pragma: no cover - IPython is a dependency of the book
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(Markdown(f"```python\n{text}\n```"))
    else:
        print(f"```python\n{text}\n```")
