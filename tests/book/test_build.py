"""The whole book, built once per session with warnings as errors (``tests/book/conftest.py``):
every page, its own JavaScript, the API reference with its "Used in" links, the bibliography
and the execution statistics."""

import pkgutil
import posixpath
import re

import pytest

pytest.importorskip("jupyter_book", reason="Jupyter Book is not installed (the book's tool chain): pip install -e '.[test]'")

from nbfiles import CHAPTERS, ROOT, read, repository_url  # noqa: E402

import kerascool_lib  # noqa: E402
from book import api, assets, sphinx_ext, toc  # noqa: E402
from kerascool_lib.runtime import RUN_CARD_MIME  # noqa: E402

LOCK = ROOT / assets.WEB_DIR / "package-lock.json"


def test_book_builds_without_warnings(built_book):
    html = built_book.check()
    for entry in toc.files(ROOT):
        page = html / f"{entry}.html"
        assert page.exists(), page
        text = page.read_text()
        assert "<title>" in text
        if (ROOT / f"{entry}.ipynb").exists():
            colab = f"https://colab.research.google.com/github/{repository_url().split('github.com/')[1]}/blob/main/{entry}.ipynb"
            assert colab in text, f"{entry}: Colab link {colab} missing"
            assert len(re.findall(r'<img [^>]*src="[^"]+\.png"', text)) >= 1, f"{entry}: no plot rendered"
            # the run card, shown as its text; its record (for tools) stays in the .ipynb file
            assert "── run card" in text and "run card (end)" in text, f"{entry}: no run card shown"
            assert RUN_CARD_MIME not in text and '"card": "start"' not in text


def test_no_page_loads_anything_from_another_host(built_book):
    html = built_book.check()
    for page in html.rglob("*.html"):
        text = page.read_text()
        remote = re.findall(r'<(?:script|link|img|iframe|source)\b[^>]*?(?:src|href)="((?:https?:)?//[^"]+)"', text)
        assert not remote, f"{page.relative_to(html)} loads {remote}"


def test_widget_and_math_scripts_are_served_locally_and_only_where_needed(built_book):
    html = built_book.check()
    embed = assets.asset_url(assets.ASSETS[0], assets.locked_version(LOCK, assets.ASSETS[0].package))
    mathjax = assets.asset_url(assets.ASSETS[1], assets.locked_version(LOCK, assets.ASSETS[1].package))
    assert (html / "_static" / embed).is_file() and (html / "_static" / mathjax).is_file()
    pages_with_widgets = 0
    for page in html.rglob("*.html"):
        text = page.read_text()
        has_widgets = 'type="application/vnd.jupyter.widget-view+json"' in text
        pages_with_widgets += has_widgets
        assert (embed in text) == has_widgets, page
        if embed in text:  # fonts are loaded relative to the script: they must be beside it
            for font in re.findall(r"[0-9a-f]{20}\.woff2", (html / "_static" / embed).read_text()):
                assert (html / "_static" / embed).with_name(font).is_file(), font
        if 'class="math' in text:
            assert mathjax in text, page
    for page in (html / "chapters" / "api").glob("*.html"):  # no math there, nor below
        assert mathjax not in page.read_text(), page
    assert pages_with_widgets >= 1, "no chapter shows a widget"


def _api_page(html, module):
    return (html / "chapters" / "api" / f"{module.rsplit('.', 1)[1]}.html").read_text()


def test_every_public_module_has_an_api_page_documenting_every_public_name(built_book):
    html = built_book.check()
    modules = api.public_modules()
    assert {m.rsplit(".", 1)[1] for m in modules} >= {m.name for m in pkgutil.iter_modules(kerascool_lib.__path__)
                                                     if not m.name.startswith("_")}
    for dotted, module in modules.items():
        page = html / "chapters" / "api" / f"{dotted.rsplit('.', 1)[1]}.html"
        assert page.exists(), f"{dotted} has no API page"
        text = page.read_text()
        assert f'<h1><code class="docutils literal notranslate"><span class="pre">{dotted}</span></code>' in text
        for name in module.__all__:
            assert f'id="{dotted}.{name}"' in text, f"{dotted}.{name} is not on {page.name}"
    generated = sorted(p.stem for p in (ROOT / api.API_DIR).glob("*.md") if p.name != "index.md")
    assert generated == sorted(m.rsplit(".", 1)[1] for m in modules), "the build writes exactly one page per module"


def test_api_reference_links_each_name_to_the_chapters_that_use_it(built_book):
    html = built_book.check()
    page = _api_page(html, "kerascool_lib.widgets")
    entry = page.split('id="kerascool_lib.widgets.stepper"', 1)[1].split('<footer', 1)[0]
    assert "Used in" in entry
    assert 'href="../start/getting_started.html"' in entry
    data = _api_page(html, "kerascool_lib.data")
    load = data.split('id="kerascool_lib.data.load_mnist"', 1)[1].split('id="kerascool_lib.data.', 1)[0]
    assert 'href="../start/getting_started.html"' in load  # used as kc.load_mnist, a re-export
    unused = data.split('id="kerascool_lib.data.train_val_split"', 1)[1].split('id="kerascool_lib.data.', 1)[0]
    assert "no chapter yet" in unused and "getting_started.html" not in unused


def test_bibliography_lists_the_sources_and_chapters_cite_them(built_book):
    html = built_book.check()
    bib = (html / "chapters" / "bibliography.html").read_text()
    for needle in ["kexue.fm/archives/5765", "kexue.fm/archives/6311", "kexue.fm/archives/6575",
                   "kexue.fm/archives/6985", "discriminative feature learning", "spectral normalization",
                   "acceleration of stochastic approximation", "mnist", "tikhonov"]:
        assert needle in bib.lower(), needle
    titles = []
    for path in CHAPTERS:  # every {cite} key of a chapter became a link to its entry
        markdown = "\n".join(c.source for c in read(path).cells if c.cell_type == "markdown")
        keys = [k.strip() for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", markdown) for k in group.split(",")]
        page = (html / path.relative_to(ROOT).with_suffix(".html")).read_text()
        links = re.findall(r'<a class="reference internal" href="[./]*bibliography\.html#[^"]+" title="([^"]+)"', page)
        assert len(links) == len(keys), f"{path.name}: {len(keys)} citations, {len(links)} links"
        titles += links
    assert any("kexue.fm/archives/5765" in title for title in titles)


def test_the_statistics_page_has_a_row_for_every_chapter(built_book):
    page = (built_book.check() / sphinx_ext.STATISTICS_PAGE).with_suffix(".html").read_text()
    assert "{execution-statistics}" not in page
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.S)
    for path in CHAPTERS:
        docname = path.relative_to(ROOT).with_suffix("").as_posix()
        href = posixpath.relpath(docname, posixpath.dirname(sphinx_ext.STATISTICS_PAGE)) + ".html"
        row = next((r for r in rows if f'href="{href}"' in r), None)
        assert row is not None, f"no statistics row for {docname}"
        assert "<td" in row and "cpu" in row and re.search(r"\d+\.\d s", row), row  # profile, wall time
    assert "Stored runs" in page and "Smoke runs" in page
