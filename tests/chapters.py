"""What the notebook tests share: the chapters listed in _toc.yml, read once."""

import pathlib
import re

import nbformat
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


def toc_files() -> list[str]:
    """Every ``file:`` entry of _toc.yml, in book order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return files


def chapter_paths() -> list[pathlib.Path]:
    """The chapter notebooks, in book order."""
    return [ROOT / f"{f}.ipynb" for f in toc_files() if (ROOT / f"{f}.ipynb").exists()]


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


CHECK_MARK = re.compile(r"^#\s*NBVAL_CHECK_OUTPUT", re.M)
