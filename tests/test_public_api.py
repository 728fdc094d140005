"""The library's promises about its API: every public module is in the package's API, every
public name is documented with an example and unit-tested, and the package holds nothing of
the book's machinery. Needs only the library and pytest."""

import importlib
import inspect
import pathlib
import pkgutil
import re

import pytest

import kerascool_lib

ROOT = pathlib.Path(__file__).resolve().parent.parent
#: Every public module of the package: a new one is held to the same rules without editing this.
MODULES = sorted(m.name for m in pkgutil.iter_modules(kerascool_lib.__path__) if not m.name.startswith("_"))
#: The library's own tests (the book's, in tests/book/, do not count as the library's).
LIBRARY_TESTS = sorted((ROOT / "tests").glob("test_*.py"))


def test_every_public_module_is_in_the_package_api():
    assert set(MODULES) - {"source"} <= set(kerascool_lib.__all__), "import the module in kerascool_lib/__init__.py"
    assert set(MODULES) >= {"bench", "callbacks", "data", "layers", "losses", "models", "plots", "runtime", "widgets"}


def test_the_package_holds_nothing_of_the_books_machinery():
    """The Sphinx extension, the notebook executor, the statistics and the benchmark race live
    in book/ and benchmarks/: a reader's `pip install` gets the library only."""
    private = sorted(m.name for m in pkgutil.iter_modules(kerascool_lib.__path__) if m.name.startswith("_"))
    assert private == ["_checks", "_machine"], private
    for path in pathlib.Path(kerascool_lib.__file__).parent.glob("*.py"):
        code = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+(sphinx|yaml|nbformat|nbclient|papermill|nbval|playwright|"
                             r"jupyter_book|myst_nb|book|benchmarks|race)\b", code, re.M), path.name


def public_names():
    names = []
    for mod_name in MODULES:
        module = importlib.import_module(f"kerascool_lib.{mod_name}")
        for name in module.__all__:
            names.append((mod_name, name, getattr(module, name)))
    return names


def test_package_all_is_importable():
    for name in kerascool_lib.__all__:
        assert hasattr(kerascool_lib, name), name


@pytest.mark.parametrize("mod_name, name, obj", public_names(), ids=lambda v: v if isinstance(v, str) else "")
def test_public_name_is_documented_with_an_example_and_tested(mod_name, name, obj):
    if inspect.isclass(obj) or inspect.isfunction(obj):
        doc = inspect.getdoc(obj) or ""
        assert doc, f"{mod_name}.{name} has no docstring"
        has_example = ">>>" in doc
        if inspect.isclass(obj) and issubclass(obj, Exception):
            has_example = True  # exceptions are shown in the examples of what raises them
        assert has_example, f"{mod_name}.{name}: docstring has no runnable example"
    tests = "\n".join(p.read_text() for p in LIBRARY_TESTS)
    assert re.search(rf"\b{re.escape(name)}\b", tests), f"{mod_name}.{name} has no unit test"
