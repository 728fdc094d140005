"""The book's table of contents, ``_toc.yml`` (Jupyter Book 1.x), as lists of pages.

    python -m book.toc        # the chapter notebooks, one per line, in book order

One reader of ``_toc.yml`` for the Makefile (``make execute`` runs every chapter), the tests,
the execution statistics and the Sphinx extension.
"""

from __future__ import annotations

import pathlib
import sys

import yaml

#: The repository (the book's root folder).
ROOT = pathlib.Path(__file__).resolve().parent.parent
#: The kinds of files a page can be.
PAGE_SUFFIXES = (".md", ".ipynb")


def read(root=ROOT) -> dict:
    """``_toc.yml`` as a dict."""
    return yaml.safe_load((pathlib.Path(root) / "_toc.yml").read_text(encoding="utf-8"))


def entries(root=ROOT) -> list[dict]:
    """Every entry below the root page, in book order: dicts with a ``file`` or a ``glob``
    (parts, chapters and sections flattened)."""
    found = []

    def walk(node):
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            if "file" in node or "glob" in node:
                found.append(node)
            for key in ("parts", "chapters", "sections"):
                walk(node.get(key, []))

    walk(read(root))
    return found


def files(root=ROOT) -> list[str]:
    """The docname of every ``file:`` entry (``chapters/start/getting_started``), in book
    order; the root page is not one of them."""
    return [e["file"] for e in entries(root) if "file" in e]


def pages(root=ROOT) -> list[str]:
    """Every page's docname, in book order: the root page, the ``file:`` entries and the
    pages that the ``glob:`` entries match on disk now."""
    root = pathlib.Path(root)
    found = [read(root)["root"]]
    for entry in entries(root):
        if "file" in entry:
            found.append(entry["file"])
        else:
            matched = (p for p in sorted(root.glob(entry["glob"])) if p.suffix in PAGE_SUFFIXES)
            found += [p.relative_to(root).with_suffix("").as_posix() for p in matched]
    return list(dict.fromkeys(found))


def chapters(root=ROOT) -> list[pathlib.Path]:
    """The chapter notebooks: the ``file:`` entries that are notebooks, in book order."""
    root = pathlib.Path(root)
    return [root / f"{f}.ipynb" for f in files(root) if (root / f"{f}.ipynb").is_file()]


def docname(path, root=ROOT) -> str:
    """A chapter's docname from its path: ``chapters/start/getting_started``."""
    return pathlib.Path(path).resolve().relative_to(pathlib.Path(root).resolve()).with_suffix("").as_posix()


def main(argv=None) -> int:
    for path in chapters(ROOT):
        print(path.relative_to(ROOT).as_posix())
    return 0


if __name__ == "__main__":
    sys.exit(main())
