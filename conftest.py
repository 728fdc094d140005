"""pytest at the repository root: notebooks and doctests run in the smoke profile.

Notebook kernels started by nbval and papermill inherit this environment.

Where the book's tool chain is installed (``pip install -e ".[test]"``), a run of the whole
suite (``make test``: no paths given, so pytest uses ``testpaths``) is recorded for the book's
*Execution statistics* page by :mod:`book.pytest_plugin`. With only the library and pytest
installed, nothing of the book is imported.
"""

import importlib.util
import os

os.environ.setdefault("KERASCOOL_PROFILE", "smoke")

if importlib.util.find_spec("jupyter_book") is not None:
    pytest_plugins = ["book.pytest_plugin"]
