"""What the book's tests share: the chapters listed in _toc.yml (book.toc) and their files."""

import pathlib
import re

import pytest

nbformat = pytest.importorskip("nbformat", reason="the book's tool chain is not installed: pip install -e '.[test]'")
yaml = pytest.importorskip("yaml", reason="the book's tool chain is not installed: pip install -e '.[test]'")

from book import toc  # noqa: E402  (needs yaml)
from kerascool_lib.runtime import RUN_CARD_MIME  # noqa: E402

ROOT = toc.ROOT
#: The chapter notebooks, in book order.
CHAPTERS = toc.chapters(ROOT)
#: Their test ids: ``chapters/start/getting_started.ipynb``.
IDS = [p.relative_to(ROOT).as_posix() for p in CHAPTERS]
#: The marks of a cell whose output nbval (and the papermill test) checks: a comment or a tag.
CHECK_MARK = re.compile(r"^#\s*NBVAL_CHECK_OUTPUT", re.M)
CHECK_TAG = "nbval-check-output"


def all_notebooks() -> list[pathlib.Path]:
    return sorted(p for p in (ROOT / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def read(path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def repository_url() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return config["repository"]["url"].rstrip("/")


def text_of(output) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    return "".join(output.get("data", {}).get("text/plain", ""))


def cell_text(cell) -> str:
    return "".join(text_of(o) for o in cell.get("outputs", []))


def is_checked(cell) -> bool:
    """Whether nbval checks this code cell's output (``# NBVAL_CHECK_OUTPUT`` or its tag)."""
    return cell.get("cell_type") == "code" and bool(
        CHECK_MARK.search(cell.get("source", "")) or CHECK_TAG in cell.get("metadata", {}).get("tags", []))


def run_card_records(cell) -> list[dict]:
    """The run card records (``kc.setup``'s start, ``run.finish``'s end) a cell displayed."""
    return [dict(o["data"][RUN_CARD_MIME]) for o in cell.get("outputs", [])
            if RUN_CARD_MIME in o.get("data", {})]
