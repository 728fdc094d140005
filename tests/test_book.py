"""The book builds with warnings as errors, serves its own JavaScript, and its API reference
lists, for each public name, the chapters that use it (kerascool_lib._sphinx)."""

import importlib
import json
import posixpath
import re
import shutil
import subprocess
import sys
import textwrap

import nbformat
import pytest

from chapters import ROOT, chapter_paths, read, repository_url, toc_files
from test_project import MODULES

from kerascool_lib import _sphinx

LOCK = ROOT / "web" / "package-lock.json"


# ---------------------------------------------------------------------------------------------
# The whole book (built once per session: conftest.built_book)


def test_book_builds_without_warnings(built_book):
    html = built_book.check()
    for entry in toc_files():
        page = html / f"{entry}.html"
        assert page.exists(), page
        text = page.read_text()
        assert "<title>" in text
        if (ROOT / f"{entry}.ipynb").exists():
            colab = f"https://colab.research.google.com/github/{repository_url().split('github.com/')[1]}/blob/main/{entry}.ipynb"
            assert colab in text, f"{entry}: Colab link {colab} missing"
            assert len(re.findall(r'<img [^>]*src="[^"]+\.png"', text)) >= 1, f"{entry}: no plot rendered"


def test_no_page_loads_anything_from_another_host(built_book):
    html = built_book.check()
    for page in html.rglob("*.html"):
        text = page.read_text()
        remote = re.findall(r'<(?:script|link|img|iframe|source)\b[^>]*?(?:src|href)="((?:https?:)?//[^"]+)"', text)
        assert not remote, f"{page.relative_to(html)} loads {remote}"


def test_widget_and_math_scripts_are_served_locally_and_only_where_needed(built_book):
    html = built_book.check()
    embed = _sphinx.asset_url(_sphinx.ASSETS[0], _sphinx.locked_version(LOCK, _sphinx.ASSETS[0].package))
    mathjax = _sphinx.asset_url(_sphinx.ASSETS[1], _sphinx.locked_version(LOCK, _sphinx.ASSETS[1].package))
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
    for module_name in MODULES:  # test_project's list of the library's public modules
        page = html / "chapters" / "api" / f"{module_name}.html"
        assert page.exists(), f"kerascool_lib.{module_name} has no API page: add chapters/api/{module_name}.md"
        text = page.read_text()
        module = importlib.import_module(f"kerascool_lib.{module_name}")
        for name in module.__all__:
            assert f'id="kerascool_lib.{module_name}.{name}"' in text, f"{module_name}.{name} is not on {page.name}"


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
    for path in chapter_paths():  # every {cite} key of a chapter became a link to its entry
        markdown = "\n".join(c.source for c in read(path).cells if c.cell_type == "markdown")
        keys = [k.strip() for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", markdown) for k in group.split(",")]
        page = (html / path.relative_to(ROOT).with_suffix(".html")).read_text()
        links = re.findall(r'<a class="reference internal" href="[./]*bibliography\.html#[^"]+" title="([^"]+)"', page)
        assert len(links) == len(keys), f"{path.name}: {len(keys)} citations, {len(links)} links"
        titles += links
    assert any("kexue.fm/archives/5765" in title for title in titles)


# ---------------------------------------------------------------------------------------------
# The front-end packages (web/): pinned, installed by npm ci, checked before a build


def test_web_packages_are_pinned_with_integrity_hashes():
    manifest = json.loads((ROOT / "web" / "package.json").read_text())
    lock = json.loads(LOCK.read_text())
    for asset in _sphinx.ASSETS:
        assert manifest["dependencies"][asset.package] == _sphinx.locked_version(LOCK, asset.package)
    for name, entry in lock["packages"].items():
        if name:
            assert re.fullmatch(r"\d+\.\d+\.\d+(-[\w.]+)?", entry["version"]), name
            assert entry.get("integrity", "").startswith("sha512-"), name


def _fake_package(tmp_path, version="1.0.0", fonts=("0123456789abcdef0123.woff2",)):
    package = tmp_path / "node_modules" / "@jupyter-widgets" / "html-manager"
    (package / "dist").mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"version": version}))
    (package / "dist" / "embed.js").write_text("".join(f'url("{f}")' for f in fonts))
    (package / "dist" / "embed.js.LICENSE.txt").write_text("licence")
    for font in fonts:
        (package / "dist" / font).write_bytes(b"font")
    return package


def test_asset_files_lists_the_script_its_licence_and_its_fonts(tmp_path):
    _fake_package(tmp_path)
    files = _sphinx.asset_files(_sphinx.ASSETS[0], tmp_path / "node_modules", "1.0.0")
    assert sorted(files.values()) == ["0123456789abcdef0123.woff2", "embed.js", "embed.js.LICENSE.txt"]


def test_asset_files_copies_folders_relative_to_the_script(tmp_path):
    package = tmp_path / "node_modules" / "mathjax"
    for rel in ["es5/tex-mml-chtml.js", "LICENSE", "es5/output/chtml/fonts/woff-v2/a.woff"] + [
            f"{d}/x.js" for d in _sphinx.ASSETS[1].extra if d.startswith("es5/")]:
        (package / rel).parent.mkdir(parents=True, exist_ok=True)
        (package / rel).write_text("x")
    (package / "package.json").write_text('{"version": "3.2.2"}')
    files = _sphinx.asset_files(_sphinx.ASSETS[1], tmp_path / "node_modules", "3.2.2")
    assert files[package / "LICENSE"] == "LICENSE"
    assert files[package / "es5/output/chtml/fonts/woff-v2/a.woff"] == "output/chtml/fonts/woff-v2/a.woff"
    assert _sphinx.asset_url(_sphinx.ASSETS[1], "3.2.2") == "web/mathjax-3.2.2/tex-mml-chtml.js"


@pytest.mark.parametrize("breakage, message", [
    ("missing", r"@jupyter-widgets/html-manager is not installed .* blank widgets .* `make book`"),
    ("version", r"html-manager 0\.9\.0 is installed .* the lock file pins 1\.0\.0"),
    ("font", r"incomplete, missing .*0123456789abcdef0123\.woff2"),
    ("script", r"embed\.js is missing"),
])
def test_asset_files_refuses_a_missing_or_stale_package(tmp_path, breakage, message):
    if breakage != "missing":
        package = _fake_package(tmp_path, version="0.9.0" if breakage == "version" else "1.0.0")
        if breakage == "font":
            (package / "dist" / "0123456789abcdef0123.woff2").unlink()
        if breakage == "script":
            (package / "dist" / "embed.js").unlink()
    with pytest.raises(_sphinx.WebAssetError, match=message):
        _sphinx.asset_files(_sphinx.ASSETS[0], tmp_path / "node_modules", "1.0.0")


def test_locked_version_reads_the_lock_file(tmp_path):
    assert re.fullmatch(r"\d+\.\d+\.\d+", _sphinx.locked_version(LOCK, "@jupyter-widgets/html-manager"))
    with pytest.raises(_sphinx.WebAssetError, match="is missing"):
        _sphinx.locked_version(tmp_path / "package-lock.json", "mathjax")
    (tmp_path / "package-lock.json").write_text('{"packages": {}}')
    with pytest.raises(_sphinx.WebAssetError, match="does not pin mathjax"):
        _sphinx.locked_version(tmp_path / "package-lock.json", "mathjax")


def test_a_build_without_the_installed_packages_fails_loudly(tmp_path):
    """A real Sphinx build with the extension, the lock file present, node_modules absent."""
    src = tmp_path / "src"
    (src / "web").mkdir(parents=True)
    shutil.copy(LOCK, src / "web" / "package-lock.json")
    shutil.copy(ROOT / "web" / _sphinx.MATHJAX2_SHIM, src / "web")
    (src / "conf.py").write_text(textwrap.dedent("""\
        extensions = ["myst_nb", "kerascool_lib._sphinx"]
        nb_execution_mode = "off"
    """))
    (src / "index.md").write_text("# A page\n\nText.\n")
    result = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", str(src), str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "is not installed" in result.stderr and "make book" in result.stderr, result.stderr[-2000:]
    assert not (tmp_path / "out" / "index.html").exists()


# ---------------------------------------------------------------------------------------------
# "Used in": which chapter uses which public name


def test_attribute_paths_reads_code_not_comments_strings_or_magics():
    code = textwrap.dedent("""\
        %pip install "kerascool-lib @ git+https://example.org/kc.not_this"
        !echo kc.nor_this
        x = kc.load_mnist()  # kc.comment_is_ignored
        fig = kc.plots.digit_grid(kc.data.to_images(x), labels="kc.string")
        y = kc.models.CNN_RECIPE.batch_size
        other.kc.plots  # rooted elsewhere
    """)
    assert _sphinx.attribute_paths(code) == {
        "kc.load_mnist", "kc.plots.digit_grid", "kc.plots", "kc.data.to_images", "kc.data",
        "kc.models.CNN_RECIPE.batch_size", "kc.models.CNN_RECIPE", "kc.models"}
    assert _sphinx.attribute_paths("if x:\n  kc.setup(  # unparsable\n", "kc") == {"kc.setup"}


def test_resolve_maps_uses_to_documented_names():
    import kerascool_lib

    modules = _sphinx.public_modules(kerascool_lib)
    assert {"kerascool_lib.data", "kerascool_lib.widgets", "kerascool_lib.runtime"} <= set(modules)
    assert "kerascool_lib._sphinx" not in modules and "kerascool_lib._book" not in modules
    resolve = lambda p: _sphinx.resolve(p, modules, kerascool_lib)  # noqa: E731
    assert resolve("kc.plots.digit_grid") == {"kerascool_lib.plots", "kerascool_lib.plots.digit_grid"}
    assert resolve("kc.load_mnist") == {"kerascool_lib.data", "kerascool_lib.data.load_mnist"}
    assert resolve("kc.PROFILES") == {"kerascool_lib.runtime", "kerascool_lib.runtime.PROFILES"}
    assert resolve("kc.models.CNN_RECIPE.batch_size") == {"kerascool_lib.models", "kerascool_lib.models.CNN_RECIPE"}
    assert resolve("kc.data") == {"kerascool_lib.data"}
    assert resolve("kc.data._private") == {"kerascool_lib.data"}
    assert resolve("kc.no_such_name") == set() and resolve("kc.__version__") == set()


def test_notebook_uses_follows_the_import_alias():
    import kerascool_lib

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("`kc.setup` in prose does not count"),
        nbformat.v4.new_code_cell("import kerascool_lib as lib"),
        nbformat.v4.new_code_cell("run = lib.setup(None)\nkc.show_source(run)"),
    ])
    uses = _sphinx.notebook_uses(nb, _sphinx.public_modules(kerascool_lib), kerascool_lib)
    assert uses == {"kerascool_lib.runtime", "kerascool_lib.runtime.setup"}


def test_notebook_uses_follows_from_imports():
    import kerascool_lib

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import kerascool_lib as kc\nfrom kerascool_lib import callbacks as kcb\n"
                                  "from kerascool_lib.data import (\n    take,\n    to_flat as flat,\n)"),
        nbformat.v4.new_code_cell("cb = kcb.EvaluateAndKeepBest(v, f, 'x')\nx = flat(images)\nkc.setup()"),
        nbformat.v4.new_code_cell("# take is only named in a comment here"),
    ])
    assert _sphinx.import_aliases(nb.cells[0].source) == {
        "kc": "kc", "kcb": "kc.callbacks", "take": "kc.data.take", "flat": "kc.data.to_flat"}
    uses = _sphinx.notebook_uses(nb, _sphinx.public_modules(kerascool_lib), kerascool_lib)
    assert uses == {"kerascool_lib.callbacks", "kerascool_lib.callbacks.EvaluateAndKeepBest",
                    "kerascool_lib.data", "kerascool_lib.data.to_flat",
                    "kerascool_lib.runtime", "kerascool_lib.runtime.setup"}


def test_chapter_uses_of_the_real_chapters():
    notebooks = {"chapters/start/getting_started": ROOT / "chapters/start/getting_started.ipynb",
                 "chapters/layers/lambda_training_phase": ROOT / "chapters/layers/lambda_training_phase.ipynb"}
    uses = _sphinx.chapter_uses(notebooks)
    assert uses["kerascool_lib.widgets.stepper"] == ["chapters/start/getting_started"]
    assert uses["kerascool_lib.runtime.setup"] == list(notebooks)  # book order kept
    callbacks = _sphinx.chapter_uses({"chapters/callbacks/evaluate_and_keep_best":
                                      ROOT / "chapters/callbacks/evaluate_and_keep_best.ipynb"})
    assert "kerascool_lib.callbacks.save_weights_atomically" in callbacks  # used as kcb.save_...
    assert _sphinx.used_in_lines([]) == ["", ":Used in: no chapter yet", ""]
    assert _sphinx.used_in_lines(["a/b"]) == ["", ":Used in: :doc:`/a/b`", ""]


def test_only_public_names_get_a_used_in_field():
    public = {"kerascool_lib.data": {"load_mnist"}}
    assert _sphinx.is_public("kerascool_lib.data", "module", public)
    assert _sphinx.is_public("kerascool_lib.data.load_mnist", "function", public)
    assert not _sphinx.is_public("kerascool_lib.data._helper", "function", public)
    assert not _sphinx.is_public("kerascool_lib.runtime.Run.pick", "method", public)


# ---------------------------------------------------------------------------------------------
# Execution statistics (kerascool_lib._stats, generated into the page by kerascool_lib._sphinx)


def test_the_statistics_page_has_a_row_for_every_chapter(built_book):
    page = (built_book.check() / _sphinx.STATISTICS_PAGE).with_suffix(".html").read_text()
    assert "{execution-statistics}" not in page
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.S)
    for path in chapter_paths():
        docname = path.relative_to(ROOT).with_suffix("").as_posix()
        href = posixpath.relpath(docname, posixpath.dirname(_sphinx.STATISTICS_PAGE)) + ".html"
        row = next((r for r in rows if f'href="{href}"' in r), None)
        assert row is not None, f"no statistics row for {docname}"
        assert "<td" in row and "cpu" in row and re.search(r"\d+\.\d s", row), row
    assert "Stored runs" in page and "Smoke runs" in page


def _fake_app(tmp_path, notebooks):
    import types

    paths = {}
    for docname, nb in notebooks.items():
        path = tmp_path / f"{docname}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(nb))
        paths[docname] = path
    env = types.SimpleNamespace(doc2path=lambda d: str(paths.get(d, tmp_path / f"{d}.md")), found_docs=set(paths) | {"index"})
    config = types.SimpleNamespace(external_site_map=list(notebooks))
    return types.SimpleNamespace(env=env, config=config, srcdir=str(tmp_path))


def test_a_chapter_without_a_run_card_is_a_build_warning(tmp_path, monkeypatch):
    card = "── run card ──\nbackend     tf\nprofile     cpu\n"
    end = "── run card (end) ──\ndevice      CPU\nprofile     cpu · wall time 3.0 s\nresult      acc 0.9\n"
    out = lambda s: {"output_type": "stream", "name": "stdout", "text": s}  # noqa: E731
    good = {"cells": [{"cell_type": "markdown", "source": "# Good one\n", "metadata": {}},
                      {"cell_type": "code", "metadata": {}, "outputs": [out(card)]},
                      {"cell_type": "code", "metadata": {}, "outputs": [out(end)]}]}
    bad = {"cells": [{"cell_type": "markdown", "source": "# Bad one", "metadata": {}},
                     {"cell_type": "code", "metadata": {}, "outputs": [out(card)]}]}
    warnings = []
    monkeypatch.setattr(_sphinx.logger, "warning", lambda msg, **kw: warnings.append(msg))
    app = _fake_app(tmp_path, {"chapters/a/good": good, "chapters/a/bad": bad})
    rows = _sphinx.statistics_rows(app, app.env.found_docs)
    assert [(d, t, r["wall_time_s"]) for d, t, r in rows] == [("chapters/a/good", "Good one", 3.0)]
    assert warnings == ["chapters/a/bad has no execution statistics: no run card footer (run.finish) in the stored outputs"]
    source = ["# Stats\n\n```{execution-statistics}\n```\n\nAfter.\n"]
    monkeypatch.setattr(app.env, "found_docs", {"chapters/a/good"})
    _sphinx._fill_statistics(app, _sphinx.STATISTICS_PAGE, source)
    assert "{doc}`Good one </chapters/a/good>`" in source[0] and source[0].endswith("After.\n")
    _sphinx._fill_statistics(app, _sphinx.STATISTICS_PAGE, ["# No block\n"])
    assert warnings[-1] == "the {execution-statistics} block is missing"
