"""The book's Sphinx extension (book/sphinx_ext.py) and its parts: the front-end packages it
serves (book/assets.py), the API pages it writes and the "Used in" links (book/api.py), the
execution statistics it fills in, and the run card's record it shows as text."""

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

REASON = "Sphinx and myst-nb are not installed (the book's tool chain): pip install -e '.[test]'"
pytest.importorskip("sphinx", reason=REASON)
pytest.importorskip("myst_nb", reason=REASON)
nbformat = pytest.importorskip("nbformat", reason=REASON)

from book import api, assets, execute, sphinx_ext  # noqa: E402
from book.toc import ROOT  # noqa: E402
from kerascool_lib.runtime import RUN_CARD_MIME  # noqa: E402

LOCK = ROOT / assets.WEB_DIR / "package-lock.json"


# ---------------------------------------------------------------------------------------------
# The front-end packages (book/web/): pinned, installed by npm ci, checked before a build


def test_web_packages_are_pinned_with_integrity_hashes():
    manifest = json.loads((ROOT / assets.WEB_DIR / "package.json").read_text())
    lock = json.loads(LOCK.read_text())
    for asset in assets.ASSETS:
        assert manifest["dependencies"][asset.package] == assets.locked_version(LOCK, asset.package)
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
    files = assets.asset_files(assets.ASSETS[0], tmp_path / "node_modules", "1.0.0")
    assert sorted(files.values()) == ["0123456789abcdef0123.woff2", "embed.js", "embed.js.LICENSE.txt"]


def test_asset_files_copies_folders_relative_to_the_script(tmp_path):
    package = tmp_path / "node_modules" / "mathjax"
    for rel in ["es5/tex-mml-chtml.js", "LICENSE", "es5/output/chtml/fonts/woff-v2/a.woff"] + [
            f"{d}/x.js" for d in assets.ASSETS[1].extra if d.startswith("es5/")]:
        (package / rel).parent.mkdir(parents=True, exist_ok=True)
        (package / rel).write_text("x")
    (package / "package.json").write_text('{"version": "3.2.2"}')
    files = assets.asset_files(assets.ASSETS[1], tmp_path / "node_modules", "3.2.2")
    assert files[package / "LICENSE"] == "LICENSE"
    assert files[package / "es5/output/chtml/fonts/woff-v2/a.woff"] == "output/chtml/fonts/woff-v2/a.woff"
    assert assets.asset_url(assets.ASSETS[1], "3.2.2") == "web/mathjax-3.2.2/tex-mml-chtml.js"


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
    with pytest.raises(assets.WebAssetError, match=message):
        assets.asset_files(assets.ASSETS[0], tmp_path / "node_modules", "1.0.0")


def test_locked_version_reads_the_lock_file(tmp_path):
    assert re.fullmatch(r"\d+\.\d+\.\d+", assets.locked_version(LOCK, "@jupyter-widgets/html-manager"))
    with pytest.raises(assets.WebAssetError, match="is missing"):
        assets.locked_version(tmp_path / "package-lock.json", "mathjax")
    (tmp_path / "package-lock.json").write_text('{"packages": {}}')
    with pytest.raises(assets.WebAssetError, match="does not pin mathjax"):
        assets.locked_version(tmp_path / "package-lock.json", "mathjax")


def _sphinx_build(src, out, conf):
    """A real Sphinx build (``-W``) of ``src`` with the book's extension and myst-nb."""
    (src / "conf.py").write_text(textwrap.dedent(conf))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # `book` as jupyter-book's local_extensions finds it
    return subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", str(src), str(out)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=src)


def test_a_build_without_the_installed_packages_fails_loudly(tmp_path):
    """A real Sphinx build with the extension, the lock file present, node_modules absent."""
    src = tmp_path / "src"
    (src / assets.WEB_DIR).mkdir(parents=True)
    shutil.copy(LOCK, src / assets.WEB_DIR / "package-lock.json")
    shutil.copy(ROOT / assets.WEB_DIR / assets.MATHJAX2_SHIM, src / assets.WEB_DIR)
    (src / "index.md").write_text("# A page\n\nText.\n")
    result = _sphinx_build(src, tmp_path / "out", """\
        extensions = ["myst_nb", "book.sphinx_ext"]
        nb_execution_mode = "off"
        kc_api_dir = ""
    """)
    assert result.returncode != 0
    assert "is not installed" in result.stderr and "make book" in result.stderr, result.stderr[-2000:]
    assert not (tmp_path / "out" / "index.html").exists()


def test_a_run_card_shows_as_its_text_without_a_warning(tmp_path):
    """kc.setup and run.finish display the card's text with a JSON record beside it, of a MIME
    type myst-nb does not know: the page shows the text, and the build (-W) has no warning."""
    if not (ROOT / assets.WEB_DIR / "node_modules").is_dir():
        pytest.skip("the front-end packages are not installed: run `make book` (npm ci in book/web/)")
    src = tmp_path / "src"
    src.mkdir()
    record = {"card": "end", "profile": "smoke", "device": "CPU: x (2 cores)", "backend": "tensorflow",
              "wall_time_s": 1.5, "metrics": {"test_accuracy": 0.5}}
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# A chapter"),
        nbformat.v4.new_code_cell("run.finish(test_accuracy=0.5)", execution_count=1, outputs=[
            nbformat.v4.new_output("display_data", data={"text/plain": "── run card (end) ──\nprofile     smoke",
                                                         RUN_CARD_MIME: record})]),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, src / "index.ipynb")
    result = _sphinx_build(src, tmp_path / "out", f"""\
        extensions = ["myst_nb", "book.sphinx_ext"]
        nb_execution_mode = "off"
        kc_api_dir = ""
        kc_web_dir = {str(ROOT / assets.WEB_DIR)!r}
    """)
    assert result.returncode == 0, result.stderr[-3000:]
    said = [line for line in result.stderr.splitlines() if line.strip() and not execute.TF_LOG_LINE.match(line)]
    assert said == [], "\n".join(said)  # no warning (TensorFlow's start-up log aside)
    page = (tmp_path / "out" / "index.html").read_text()
    assert "── run card (end) ──" in page and "profile     smoke" in page
    assert "wall_time_s" not in page and RUN_CARD_MIME not in page


def test_run_card_text_only_keeps_every_other_output():
    record = {"card": "start", "profile": "cpu"}
    nb = {"cells": [{"cell_type": "code", "source": "", "metadata": {}, "outputs": [
        {"output_type": "display_data", "metadata": {}, "data": {"text/plain": "card", RUN_CARD_MIME: record}},
        {"output_type": "display_data", "metadata": {}, "data": {"text/plain": "x", "image/png": "iVBOR"}},
        {"output_type": "stream", "name": "stdout", "text": "printed"}]}], "metadata": {}, "nbformat": 4,
        "nbformat_minor": 5}
    text = sphinx_ext.run_card_text_only(json.dumps(nb))
    outputs = json.loads(text)["cells"][0]["outputs"]
    assert outputs[0]["data"] == {"text/plain": "card"}
    assert outputs[1:] == nb["cells"][0]["outputs"][1:]
    unchanged = json.dumps({"cells": []})
    assert sphinx_ext.run_card_text_only(unchanged) is unchanged


# ---------------------------------------------------------------------------------------------
# The API reference: one generated page per public module


def test_public_modules_are_the_packages_modules_and_the_new_ones():
    import kerascool_lib

    modules = api.public_modules(kerascool_lib)
    listed = {f"kerascool_lib.{n}" for n in kerascool_lib.__all__ if isinstance(getattr(kerascool_lib, n), type(json))}
    assert listed <= set(modules) and "kerascool_lib.source" in modules  # source: on disk, not re-exported
    assert api.page_docnames(kerascool_lib) == [f"chapters/api/{m.rsplit('.', 1)[1]}" for m in modules]


def test_write_pages_writes_each_module_page_and_removes_only_stale_generated_ones(tmp_path):
    (tmp_path / "index.md").write_text("# API reference\n")
    (tmp_path / "gone.md").write_text(api.page_text("kerascool_lib.gone"))
    (tmp_path / "notes.md").write_text("# Hand-written\n")
    paths = api.write_pages(tmp_path, ["kerascool_lib.data", "kerascool_lib.weights"])
    assert paths == [tmp_path / "data.md", tmp_path / "weights.md"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.md", "index.md", "notes.md", "weights.md"]
    text = (tmp_path / "weights.md").read_text()
    assert text.startswith(api.GENERATED + "\n# `kerascool_lib.weights`\n")
    assert ".. automodule:: kerascool_lib.weights\n   :members:\n" in text
    before = (tmp_path / "data.md").stat().st_mtime_ns
    os.utime(tmp_path / "data.md", ns=(before - 10**9, before - 10**9))
    api.write_pages(tmp_path, ["kerascool_lib.data"])  # unchanged pages are not rewritten
    assert (tmp_path / "data.md").stat().st_mtime_ns == before - 10**9
    assert not (tmp_path / "weights.md").exists()


def test_the_generated_pages_are_git_ignored_and_the_index_is_not():
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "chapters/api/data.md", "chapters/api/index.md"],
                             cwd=ROOT, capture_output=True, text=True)
    if ignored.returncode == 128:
        pytest.skip(f"not a git checkout: {ignored.stderr.strip()}")
    assert ignored.stdout.split() == ["chapters/api/data.md"]


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
    assert api.attribute_paths(code) == {
        "kc.load_mnist", "kc.plots.digit_grid", "kc.plots", "kc.data.to_images", "kc.data",
        "kc.models.CNN_RECIPE.batch_size", "kc.models.CNN_RECIPE", "kc.models"}
    assert api.attribute_paths("if x:\n  kc.setup(  # unparsable\n", "kc") == {"kc.setup"}


def test_resolve_maps_uses_to_documented_names():
    import kerascool_lib

    modules = api.public_modules(kerascool_lib)
    assert {"kerascool_lib.data", "kerascool_lib.widgets", "kerascool_lib.runtime"} <= set(modules)
    assert not [m for m in modules if m.rsplit(".", 1)[1].startswith("_")], modules
    resolve = lambda p: api.resolve(p, modules, kerascool_lib)  # noqa: E731
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
    uses = api.notebook_uses(nb, api.public_modules(kerascool_lib), kerascool_lib)
    assert uses == {"kerascool_lib.runtime", "kerascool_lib.runtime.setup"}


def test_notebook_uses_follows_from_imports():
    import kerascool_lib

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import kerascool_lib as kc\nfrom kerascool_lib import callbacks as kcb\n"
                                  "from kerascool_lib.data import (\n    take,\n    to_flat as flat,\n)"),
        nbformat.v4.new_code_cell("cb = kcb.EvaluateAndKeepBest(v, f, 'x')\nx = flat(images)\nkc.setup()"),
        nbformat.v4.new_code_cell("# take is only named in a comment here"),
    ])
    assert api.import_aliases(nb.cells[0].source) == {
        "kc": "kc", "kcb": "kc.callbacks", "take": "kc.data.take", "flat": "kc.data.to_flat"}
    uses = api.notebook_uses(nb, api.public_modules(kerascool_lib), kerascool_lib)
    assert uses == {"kerascool_lib.callbacks", "kerascool_lib.callbacks.EvaluateAndKeepBest",
                    "kerascool_lib.data", "kerascool_lib.data.to_flat",
                    "kerascool_lib.runtime", "kerascool_lib.runtime.setup"}


def test_chapter_uses_of_the_real_chapters():
    notebooks = {"chapters/start/getting_started": ROOT / "chapters/start/getting_started.ipynb",
                 "chapters/layers/lambda_training_phase": ROOT / "chapters/layers/lambda_training_phase.ipynb"}
    uses = api.chapter_uses(notebooks)
    assert uses["kerascool_lib.widgets.stepper"] == ["chapters/start/getting_started"]
    assert uses["kerascool_lib.runtime.setup"] == list(notebooks)  # book order kept
    callbacks = api.chapter_uses({"chapters/callbacks/evaluate_and_keep_best":
                                  ROOT / "chapters/callbacks/evaluate_and_keep_best.ipynb"})
    assert "kerascool_lib.callbacks.EvaluateAndKeepBest" in callbacks  # used as kcb.EvaluateAndKeepBest
    assert api.used_in_lines([]) == ["", ":Used in: no chapter yet", ""]
    assert api.used_in_lines(["a/b"]) == ["", ":Used in: :doc:`/a/b`", ""]


def test_only_public_names_get_a_used_in_field():
    public = {"kerascool_lib.data": {"load_mnist"}}
    assert api.is_public("kerascool_lib.data", "module", public)
    assert api.is_public("kerascool_lib.data.load_mnist", "function", public)
    assert not api.is_public("kerascool_lib.data._helper", "function", public)
    assert not api.is_public("kerascool_lib.runtime.Run.pick", "method", public)


# ---------------------------------------------------------------------------------------------
# Execution statistics (book/stats.py, generated into the page by book/sphinx_ext.py)


def _fake_app(tmp_path, notebooks):
    """A book in ``tmp_path``: the notebooks, a _toc.yml that lists them, and an index page."""
    import types

    for docname, nb in notebooks.items():
        path = tmp_path / f"{docname}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(nb))
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n"
                                       + "".join(f"  - file: {d}\n" for d in notebooks))
    return types.SimpleNamespace(srcdir=str(tmp_path))


def test_a_chapter_without_a_run_card_is_a_build_warning(tmp_path, monkeypatch):
    card = {"card": "start", "profile": "cpu", "device": "CPU", "backend": "tensorflow", "versions": {"keras": "3"}}
    end = {"card": "end", "profile": "cpu", "device": "CPU", "backend": "tensorflow", "wall_time_s": 3.0,
           "metrics": {"acc": 0.9}}
    out = lambda r: {"output_type": "display_data", "metadata": {}, "data": {"text/plain": "card", RUN_CARD_MIME: r}}  # noqa: E731
    good = {"cells": [{"cell_type": "markdown", "source": "# Good one\n", "metadata": {}},
                      {"cell_type": "code", "metadata": {}, "outputs": [out(card)]},
                      {"cell_type": "code", "metadata": {}, "outputs": [out(end)]}]}
    bad = {"cells": [{"cell_type": "markdown", "source": "# Bad one", "metadata": {}},
                     {"cell_type": "code", "metadata": {}, "outputs": [out(card)]}]}
    warnings = []
    monkeypatch.setattr(sphinx_ext.logger, "warning", lambda msg, **kw: warnings.append(msg))
    app = _fake_app(tmp_path, {"chapters/a/good": good, "chapters/a/bad": bad})
    rows = sphinx_ext.statistics_rows(app)
    assert [(d, t, r["wall_time_s"]) for d, t, r in rows] == [("chapters/a/good", "Good one", 3.0)]
    assert warnings == ["chapters/a/bad has no execution statistics: no run card end record (run.finish) in the stored outputs"]
    source = ["# Stats\n\n```{execution-statistics}\n```\n\nAfter.\n"]
    sphinx_ext._fill_statistics(app, sphinx_ext.STATISTICS_PAGE, source)
    assert "{doc}`Good one </chapters/a/good>`" in source[0] and source[0].endswith("After.\n")
    sphinx_ext._fill_statistics(app, sphinx_ext.STATISTICS_PAGE, ["# No block\n"])
    assert warnings[-1] == "the {execution-statistics} block is missing"
