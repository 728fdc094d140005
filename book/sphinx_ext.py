"""The book's Sphinx extension, loaded by ``_config.yml`` (``sphinx: local_extensions``).

It does four things, each in a module of its own where it is more than wiring:

**No CDN** (:mod:`book.assets`). The widget embed bundle and MathJax are served from the book
itself: myst-nb's ``nb_ipywidgets_js`` and Sphinx's ``mathjax_path`` point at copies in
``_static/web/``, checked against ``book/web/package-lock.json`` and copied from
``book/web/node_modules`` when the build starts. myst-nb still adds the widget script only to
pages that hold widget state, and Sphinx adds MathJax only to pages with math. A script that
a page lists twice is kept once (sphinx-thebe's inline configuration, whose second copy is a
SyntaxError on every page).

**The API reference** (:mod:`book.api`). When the build starts, one page per public module of
``kerascool_lib`` is written into ``chapters/api/`` (``kc_api_dir``; git-ignored), where the
``_toc.yml`` glob ``chapters/api/*`` finds it. Before the sources are read, the chapters are
scanned for uses of the library, and each public name documented by autodoc gets a "Used in"
field linking the chapters that use it.

**Execution statistics** (:mod:`book.stats`). The page ``chapters/appendix/execution_statistics``
holds an empty ``{execution-statistics}`` block; it is replaced, every build, by the table made
from every chapter's stored run card and the last recorded test run. A chapter without a
complete run card is a warning (an error in the book's ``-W`` build).

**The run card's record.** ``kc.setup`` and ``run.finish`` display the run card as text with a
JSON record beside it (:data:`kerascool_lib.runtime.RUN_CARD_MIME`); the record is for tools,
which read the ``.ipynb`` files. It is taken out of each notebook as Sphinx reads it, so that
pages show the card's text and myst-nb meets no MIME type it cannot render (a warning).
"""

from __future__ import annotations

import inspect
import json
import pathlib
import re
import shutil
from collections.abc import Iterable

from sphinx.errors import ExtensionError
from sphinx.util import logging

from book import api, assets, stats, toc

logger = logging.getLogger(__name__)

#: The page whose ``{execution-statistics}`` block is generated from the chapters' run cards.
STATISTICS_PAGE = "chapters/appendix/execution_statistics"
STATISTICS_BLOCK = re.compile(r"^```\{execution-statistics\}\n```\n", re.M)


# --------------------------------------------------------------------------------------------
# No CDN


def _web_dir(app) -> pathlib.Path:
    return pathlib.Path(app.confdir) / app.config.kc_web_dir


def _use_local_assets(app, config) -> None:
    """Point myst-nb and Sphinx at the copies in ``_static/`` (before they read the config)."""
    lockfile = pathlib.Path(app.confdir) / config.kc_web_dir / "package-lock.json"
    app.kc_asset_versions = {}
    for asset in assets.ASSETS:
        try:
            version = assets.locked_version(lockfile, asset.package)
        except assets.WebAssetError as exc:
            raise ExtensionError(str(exc)) from exc
        app.kc_asset_versions[asset] = version
        url = assets.asset_url(asset, version)
        if asset.config == "nb_ipywidgets_js":  # and the shim, for the widgets to use MathJax 3
            setattr(config, asset.config, {url: {}, f"{assets.STATIC_SUBDIR}/{assets.MATHJAX2_SHIM}": {}})
        else:
            setattr(config, asset.config, url)


def _install_assets(app) -> None:
    """Check the installed packages and copy them into ``_static/`` before pages are written."""
    if app.builder.format != "html":
        return
    static = pathlib.Path(app.outdir) / "_static"
    shim = _web_dir(app) / assets.MATHJAX2_SHIM
    if not shim.is_file():
        raise ExtensionError(f"{shim} is missing: widgets on pages with math would fail.")
    (static / assets.STATIC_SUBDIR).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shim, static / assets.STATIC_SUBDIR / assets.MATHJAX2_SHIM)
    for asset, version in app.kc_asset_versions.items():
        try:
            files = assets.asset_files(asset, _web_dir(app) / "node_modules", version)
        except assets.WebAssetError as exc:
            raise ExtensionError(str(exc)) from exc
        target = static / pathlib.PurePosixPath(assets.asset_url(asset, version)).parent
        for source, rel in files.items():
            destination = target / rel
            if destination.is_file() and destination.stat().st_size == source.stat().st_size:
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)


def unique_scripts(scripts: list) -> list:
    """The scripts without repeats: the same file (or inline body) with the same attributes.

    sphinx-thebe adds its inline ``const THEBE_JS_URL = ...`` twice in a Jupyter Book build
    (once as ``None``, once as ``''``, which Sphinx does not recognise as the same script),
    and the second declaration is a SyntaxError on every page.
    """
    seen, unique = set(), []
    for script in scripts:
        key = (script.filename or "", script.priority, tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    return unique


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if isinstance(scripts, list):
        scripts[:] = unique_scripts(scripts)


# --------------------------------------------------------------------------------------------
# The run card's record


def run_card_text_only(source: str) -> str:
    """A notebook's JSON text with the run card's records taken out of its outputs: each
    output keeps its other data (the card's ``text/plain``).

    myst-nb renders every MIME type of an output while it parses (and picks one per output
    format afterwards), and warns about a type it has no renderer for: the record would be
    a warning, an error in the ``-W`` build. The record is for tools, which read the
    ``.ipynb`` file itself; the page shows the card's text.
    """
    from kerascool_lib.runtime import RUN_CARD_MIME

    if RUN_CARD_MIME not in source:
        return source
    nb = json.loads(source)
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            data = output.get("data")
            if isinstance(data, dict) and RUN_CARD_MIME in data:
                del data[RUN_CARD_MIME]
                output.get("metadata", {}).pop(RUN_CARD_MIME, None)
    return json.dumps(nb, ensure_ascii=False, indent=1)


def _show_run_cards_as_text(app, docname, source) -> None:
    if pathlib.Path(app.env.doc2path(docname)).suffix == ".ipynb":
        source[0] = run_card_text_only(source[0])


# --------------------------------------------------------------------------------------------
# The API reference


def _write_api_pages(app) -> None:
    """One page per public module, before Sphinx looks for the sources."""
    if app.config.kc_api_dir:
        api.write_pages(pathlib.Path(app.srcdir) / app.config.kc_api_dir, api.public_modules())


def _book_order(app, docnames: Iterable[str]) -> list[str]:
    site_map = getattr(app.config, "external_site_map", None)
    order = {d: i for i, d in enumerate(site_map or [])}
    return sorted(docnames, key=lambda d: (order.get(d, len(order)), d))


def _scan_chapters(app, env, docnames) -> None:
    notebooks = {}
    for docname in _book_order(app, env.found_docs):
        path = pathlib.Path(env.doc2path(docname))
        if path.suffix == ".ipynb":
            notebooks[docname] = path
    env.kc_chapter_uses = api.chapter_uses(notebooks)
    env.kc_public = {name: set(api.public_names(m)) for name, m in api.public_modules().items()}


def _add_used_in(app, what, name, obj, options, lines) -> None:
    if not api.is_public(name, what, getattr(app.env, "kc_public", {})):
        return
    lines.extend(api.used_in_lines(app.env.kc_chapter_uses.get(name, [])))
    if not hasattr(app.env, "kc_api_docs"):
        app.env.kc_api_docs = set()
    app.env.kc_api_docs.add(app.env.docname)


def _save_data_docs(app, what, name, obj, options, lines) -> None:
    """Napoleon reads ``text: more`` on the first line of a data docstring as ``type:
    description``; the library's ``#:`` comments are prose (types come from annotations), so
    data docstrings are saved before napoleon runs and put back after it. An undocumented
    constant's "docstring" is its type's (``dict``'s): it is dropped."""
    if what in ("data", "attribute"):
        if "\n".join(lines).strip() == (inspect.getdoc(type(obj)) or "").strip():
            lines[:] = []  # a constant without a doc comment: not its type's docstring
        app.kc_saved_docs = getattr(app, "kc_saved_docs", {})
        app.kc_saved_docs[name] = list(lines)


def _restore_data_docs(app, what, name, obj, options, lines) -> None:
    saved = getattr(app, "kc_saved_docs", {})
    if what in ("data", "attribute") and name in saved:
        lines[:] = saved.pop(name)


def _api_docs_outdated(app, env, added, changed, removed) -> list[str]:
    """Pages documenting the library, and the execution statistics, are read again every
    build: chapters (and test runs) may have changed."""
    pages = set(getattr(env, "kc_api_docs", set())) | {STATISTICS_PAGE}
    return sorted(d for d in pages if d in env.found_docs)


def _purge(app, env, docname) -> None:
    getattr(env, "kc_api_docs", set()).discard(docname)


def _merge(app, env, docnames, other) -> None:
    if not hasattr(env, "kc_api_docs"):
        env.kc_api_docs = set()
    env.kc_api_docs |= getattr(other, "kc_api_docs", set())


# --------------------------------------------------------------------------------------------
# Execution statistics


def statistics_rows(app) -> list[tuple[str, str, dict]]:
    """``(docname, title, run card)`` of every chapter notebook that ``_toc.yml`` lists, in
    book order; a chapter without a complete run card is a build warning (an error with
    ``-W``), naming it."""
    rows = []
    for path in toc.chapters(app.srcdir):
        docname = toc.docname(path, app.srcdir)
        try:
            rows.append(stats.chapter_row(docname, path))
        except ValueError as err:
            logger.warning(f"{docname} has no execution statistics: {err}", location=STATISTICS_PAGE)
    return rows


def _fill_statistics(app, docname, source) -> None:
    if docname != STATISTICS_PAGE:
        return
    if not STATISTICS_BLOCK.search(source[0]):
        logger.warning("the {execution-statistics} block is missing", location=docname)
        return
    rows = statistics_rows(app)
    for over in stats.over_cpu_budget(rows):  # a reader's wait for one page: an error with -W
        logger.warning(f"{over}: its stored cpu run took longer than {stats.CPU_BUDGET_S:.0f} s", location=STATISTICS_PAGE)
    table = stats.statistics_markdown(app.srcdir, rows)
    source[0] = STATISTICS_BLOCK.sub(lambda m: table, source[0], count=1)


def setup(app):
    app.setup_extension("sphinx.ext.autodoc")  # its events are connected below
    app.add_config_value("kc_web_dir", assets.WEB_DIR, "html")
    app.add_config_value("kc_api_dir", api.API_DIR, "env")  # "" or None: no generated pages
    app.connect("config-inited", _use_local_assets)
    app.connect("builder-inited", _write_api_pages)
    app.connect("builder-inited", _install_assets)
    app.connect("env-before-read-docs", _scan_chapters)
    app.connect("autodoc-process-docstring", _save_data_docs, priority=400)
    app.connect("autodoc-process-docstring", _restore_data_docs, priority=550)
    # after napoleon (priority 500) has turned the Google-style sections into reST
    app.connect("autodoc-process-docstring", _add_used_in, priority=600)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("env-get-outdated", _api_docs_outdated)
    app.connect("source-read", _fill_statistics)
    app.connect("source-read", _show_run_cards_as_text)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
