"""The book's Sphinx extension (book tooling, not part of the public API).

Listed in ``_config.yml`` under ``sphinx: extra_extensions``. It does three things.

**No CDN.** By default myst-nb loads the JavaScript that renders a page's stored widget state
from public CDNs, and Sphinx loads MathJax from one too: offline, every widget is silently
blank and every formula raw TeX. This extension serves both from the book itself. It points
myst-nb's ``nb_ipywidgets_js`` at the embed bundle of ``@jupyter-widgets/html-manager`` and
Sphinx's ``mathjax_path`` at MathJax, and copies each, with the files it loads at run time
(fonts, MathJax components), into ``_static/web/<package>-<version>/``. myst-nb still adds
the widget script only to pages that hold widget state, and Sphinx adds MathJax only to pages
with math. The packages come from npm, pinned by the committed ``web/package-lock.json`` and
installed by ``npm ci`` (``make book`` and ``make test`` run it). If one is missing, or is
not the version the lock file pins, the build stops with an error that says what to run,
rather than render blank widgets.

``embed.js`` is the html-manager's standard embedder: it renders the widgets of
``@jupyter-widgets/base``, ``controls`` and ``output`` (all the book uses), needs no
RequireJS and never fetches a module from a CDN, unlike ``embed-amd.js``, which loads unknown
widget modules from a CDN through RequireJS. Two fixes keep the pages free of script errors:
``web/widgets-mathjax3.js`` gives MathJax 3 the MathJax 2 call the widgets make
(``MathJax.Hub.Queue``), and a script that a page lists twice is kept once (sphinx-thebe's
inline configuration, whose second copy is a SyntaxError on every page).

**Where each name is used.** Before the sources are read, every chapter notebook's code cells
are scanned for uses of the library (``kc.load_mnist``, ``kc.plots.digit_grid``, ...; the
alias is read from ``import kerascool_lib as ...``), and each public name documented by
autodoc gets a "Used in" field linking the chapters that use it.

**Execution statistics.** The page ``chapters/appendix/execution_statistics`` holds an
empty ``{execution-statistics}`` block; it is replaced, every build, by the table
:func:`kerascool_lib._stats.statistics_markdown` makes from every chapter's stored run card
and the last recorded test run. A chapter without a complete run card is a warning (an error
in the book's ``-W`` build).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import json
import pathlib
import re
import shutil
import types
from collections.abc import Iterable, Mapping

from sphinx.util import logging

logger = logging.getLogger(__name__)

PACKAGE = "kerascool_lib"
#: Where the assets go below ``_static/``, each in ``<name>-<version>/`` (no stale caches).
STATIC_SUBDIR = "web"
#: Our own script (in web/): MathJax 2's ``MathJax.Hub.Queue``, which ipywidgets calls, on
#: top of MathJax 3, which Sphinx loads. Served with the widget bundle.
MATHJAX2_SHIM = "widgets-mathjax3.js"
_HASHED_FILE = re.compile(r"\b[0-9a-f]{20}\.(?:woff2|woff|ttf|eot|svg)\b")


class WebAssetError(RuntimeError):
    """A front-end package the pages need is missing or is not the pinned version."""


@dataclasses.dataclass(frozen=True)
class WebAsset:
    """A script from an npm package that pages load from ``_static/`` instead of a CDN.

    ``entry`` is the script (relative to the package); ``extra`` are the files and folders it
    loads at run time, relative to the package, served at the same place relative to the
    entry. Files named by a content hash inside the entry (the fonts webpack emits) are added
    on their own. ``config`` is the Sphinx setting that names the script for pages.
    """

    package: str
    entry: str
    extra: tuple[str, ...]
    config: str

    @property
    def short_name(self) -> str:
        return self.package.rsplit("/", 1)[-1]


#: The two scripts that public CDNs would otherwise serve: the widget embedder (myst-nb adds
#: it to pages with widget state) and MathJax (Sphinx adds it to pages with math).
ASSETS = (
    WebAsset(
        "@jupyter-widgets/html-manager",
        "dist/embed.js",
        ("dist/embed.js.LICENSE.txt",),
        "nb_ipywidgets_js",
    ),
    WebAsset(
        "mathjax",
        "es5/tex-mml-chtml.js",
        ("LICENSE", "es5/a11y", "es5/adaptors", "es5/input", "es5/output", "es5/sre", "es5/ui"),
        "mathjax_path",
    ),
)


def locked_version(lockfile: pathlib.Path, package: str) -> str:
    """The version of ``package`` that an npm ``package-lock.json`` pins."""
    lockfile = pathlib.Path(lockfile)
    if not lockfile.is_file():
        raise WebAssetError(f"{lockfile} is missing: it pins the book's front-end packages.")
    lock = json.loads(lockfile.read_text(encoding="utf-8"))
    entry = lock.get("packages", {}).get(f"node_modules/{package}")
    if not entry or "version" not in entry:
        raise WebAssetError(f"{lockfile} does not pin {package}.")
    return entry["version"]


def asset_url(asset: WebAsset, version: str) -> str:
    """The entry script's path below ``_static/``, e.g. ``web/mathjax-3.2.2/tex-mml-chtml.js``."""
    return f"{STATIC_SUBDIR}/{asset.short_name}-{version}/{pathlib.PurePosixPath(asset.entry).name}"


def asset_files(asset: WebAsset, node_modules: pathlib.Path, version: str) -> dict[pathlib.Path, str]:
    """``{installed file: path relative to the entry script's folder}`` for every file a page
    may load. Raises ``WebAssetError``, saying what to run, when the package is missing, is
    another version than ``version``, or lacks a file."""
    package_dir = pathlib.Path(node_modules) / asset.package
    fix = "Run `make book` (it runs `npm ci` in web/) to install the pinned front-end packages."
    manifest = package_dir / "package.json"
    if not manifest.is_file():
        raise WebAssetError(
            f"{asset.package} is not installed ({package_dir} is missing): without it pages "
            f"would load it from a CDN, and offline show blank widgets or raw math. {fix}"
        )
    installed = json.loads(manifest.read_text(encoding="utf-8")).get("version")
    if installed != version:
        raise WebAssetError(
            f"{asset.package} {installed} is installed in {package_dir}, but the lock file "
            f"pins {version}. {fix}"
        )
    entry = package_dir / asset.entry
    if not entry.is_file():
        raise WebAssetError(f"{entry} is missing. {fix}")
    base = entry.parent
    hashed = sorted(set(_HASHED_FILE.findall(entry.read_text(encoding="utf-8"))))
    wanted = [entry] + [package_dir / e for e in asset.extra] + [base / name for name in hashed]
    absent = [str(f) for f in wanted if not f.exists()]
    if absent:
        raise WebAssetError(f"{asset.package} is incomplete, missing {absent}. {fix}")
    files = {}
    for item in wanted:
        for f in sorted(item.rglob("*")) if item.is_dir() else [item]:
            if f.is_file():
                rel = f.relative_to(base) if f.is_relative_to(base) else pathlib.Path(f.name)
                files[f] = rel.as_posix()
    return files


def _web_dir(app) -> pathlib.Path:
    return pathlib.Path(app.confdir) / app.config.kc_web_dir


def _use_local_assets(app, config) -> None:
    """Point myst-nb and Sphinx at the copies in ``_static/`` (before they read the config)."""
    from sphinx.errors import ExtensionError

    lockfile = pathlib.Path(app.confdir) / config.kc_web_dir / "package-lock.json"
    app.kc_asset_versions = {}
    for asset in ASSETS:
        try:
            version = locked_version(lockfile, asset.package)
        except WebAssetError as exc:
            raise ExtensionError(str(exc)) from exc
        app.kc_asset_versions[asset] = version
        url = asset_url(asset, version)
        if asset.config == "nb_ipywidgets_js":  # and the shim, for the widgets to use MathJax 3
            setattr(config, asset.config, {url: {}, f"{STATIC_SUBDIR}/{MATHJAX2_SHIM}": {}})
        else:
            setattr(config, asset.config, url)


def _install_assets(app) -> None:
    """Check the installed packages and copy them into ``_static/`` before pages are written."""
    from sphinx.errors import ExtensionError

    if app.builder.format != "html":
        return
    static = pathlib.Path(app.outdir) / "_static"
    shim = _web_dir(app) / MATHJAX2_SHIM
    if not shim.is_file():
        raise ExtensionError(f"{shim} is missing: widgets on pages with math would fail.")
    (static / STATIC_SUBDIR).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shim, static / STATIC_SUBDIR / MATHJAX2_SHIM)
    for asset, version in app.kc_asset_versions.items():
        try:
            files = asset_files(asset, _web_dir(app) / "node_modules", version)
        except WebAssetError as exc:
            raise ExtensionError(str(exc)) from exc
        target = static / pathlib.PurePosixPath(asset_url(asset, version)).parent
        for source, rel in files.items():
            destination = target / rel
            if destination.is_file() and destination.stat().st_size == source.stat().st_size:
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)


# --------------------------------------------------------------------------------------------
# Where each public name is used


def public_modules(package: types.ModuleType | None = None) -> dict[str, types.ModuleType]:
    """The library's public modules (those with an ``__all__``), by dotted name.

    The package's own ``__all__`` lists only what it re-exports; the modules are found on
    disk, so a new module counts as soon as it exists.
    """
    package = package or importlib.import_module(PACKAGE)
    modules = {}
    for path in sorted(pathlib.Path(package.__file__).parent.glob("*.py")):
        if path.stem.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{path.stem}")
        if hasattr(module, "__all__"):
            modules[module.__name__] = module
    return modules


def _strip_magics(code: str) -> str:
    """IPython magics and shell escapes out, so that the cell parses as Python."""
    return "\n".join("" if re.match(r"\s*[%!]", line) else line for line in code.splitlines())


def attribute_paths(code: str, alias: str = "kc") -> set[str]:
    """Every dotted path rooted at ``alias`` in a code cell, e.g. ``{"kc.plots.digit_grid"}``.

    Comments and strings do not count. Cells that do not parse are read with a regular
    expression instead.
    """
    try:
        tree = ast.parse(_strip_magics(code))
    except SyntaxError:
        code = re.sub(r"#.*", "", code)
        return {m.group(0) for m in re.finditer(rf"\b{re.escape(alias)}(?:\.[A-Za-z_]\w*)+", code)}
    paths = set()
    for node in ast.walk(tree):
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if parts and isinstance(node, ast.Name) and node.id == alias:
            paths.add(".".join([alias] + parts[::-1]))
    return paths


def resolve(path: str, modules: Mapping[str, types.ModuleType], package: types.ModuleType) -> set[str]:
    """The documented names a dotted path uses: ``kc.plots.digit_grid`` →
    ``{"kerascool_lib.plots", "kerascool_lib.plots.digit_grid"}``; a re-export such as
    ``kc.load_mnist`` resolves to where it is defined (``kerascool_lib.data.load_mnist``).
    Attributes of a public name (``kc.models.CNN_RECIPE.batch_size``) count as a use of it.
    """
    parts = path.split(".")[1:]
    if not parts:
        return set()
    first = f"{package.__name__}.{parts[0]}"
    if first in modules:
        module = modules[first]
        if len(parts) > 1 and parts[1] in module.__all__:
            return {first, f"{first}.{parts[1]}"}
        return {first}
    if not hasattr(package, parts[0]):
        return set()
    obj = getattr(package, parts[0])
    for name, module in modules.items():
        for public in module.__all__:
            if getattr(module, public, None) is obj and public == parts[0]:
                return {name, f"{name}.{public}"}
    return set()


def import_aliases(code: str) -> dict[str, str]:
    """Local names bound to the library by a notebook's imports, each mapped to the dotted
    path it stands for, rooted at ``kc``::

        import kerascool_lib as kc                   -> {"kc": "kc"}
        from kerascool_lib import callbacks as kcb   -> {"kcb": "kc.callbacks"}
        from kerascool_lib.data import load_mnist    -> {"load_mnist": "kc.data.load_mnist"}
    """
    aliases = {}
    try:
        tree = ast.parse(_strip_magics(code))
    except SyntaxError:
        return aliases
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for item in node.names:
                if item.name == PACKAGE and item.asname:
                    aliases[item.asname] = "kc"
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module != PACKAGE and not node.module.startswith(PACKAGE + "."):
                continue
            base = "kc" + node.module[len(PACKAGE):]
            for item in node.names:
                if item.name != "*":
                    aliases[item.asname or item.name] = f"{base}.{item.name}"
    return aliases


def _bare_uses(code: str, name: str) -> bool:
    """Whether ``name`` is used as a plain name (not only imported) in ``code``."""
    try:
        tree = ast.parse(_strip_magics(code))
    except SyntaxError:
        return bool(re.search(rf"\b{re.escape(name)}\b", re.sub(r"#.*", "", code)))
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(tree))


def notebook_uses(notebook: Mapping, modules, package) -> set[str]:
    """The documented names a notebook's code cells use, through whatever names its imports
    bind to the library (see :func:`import_aliases`; ``kc`` if it binds none)."""
    cells = [c for c in notebook.get("cells", []) if c.get("cell_type") == "code"]
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells]
    aliases = {}
    for source in sources:
        aliases.update(import_aliases(source))
    aliases = aliases or {"kc": "kc"}
    used = set()
    for source in sources:
        for alias, target in aliases.items():
            paths = {target + path[len(alias):] for path in attribute_paths(source, alias)}
            if target != "kc" and _bare_uses(source, alias):
                paths.add(target)
            for path in paths:
                used |= resolve(path, modules, package)
    return used


def chapter_uses(notebooks: Mapping[str, pathlib.Path]) -> dict[str, list[str]]:
    """``{documented name: [docname, ...]}`` for notebooks given as ``{docname: path}``; the
    docnames keep the order they were given in."""
    package = importlib.import_module(PACKAGE)
    modules = public_modules(package)
    uses: dict[str, list[str]] = {}
    for docname, path in notebooks.items():
        notebook = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
        for name in notebook_uses(notebook, modules, package):
            uses.setdefault(name, []).append(docname)
    return uses


def used_in_lines(docnames: Iterable[str]) -> list[str]:
    """The reStructuredText appended to a docstring: a ``Used in`` field linking the chapters."""
    docnames = list(docnames)
    links = ", ".join(f":doc:`/{d}`" for d in docnames) if docnames else "no chapter yet"
    return ["", f":Used in: {links}", ""]


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
    env.kc_chapter_uses = chapter_uses(notebooks)
    env.kc_public = {name: set(m.__all__) for name, m in public_modules().items()}


def is_public(name: str, what: str, public: Mapping[str, set]) -> bool:
    """Whether autodoc's ``name`` is a public module or a name in its module's ``__all__``."""
    if what == "module":
        return name in public
    module_name, _, short = name.rpartition(".")
    return short in public.get(module_name, ())


def _add_used_in(app, what, name, obj, options, lines) -> None:
    if not is_public(name, what, getattr(app.env, "kc_public", {})):
        return
    lines.extend(used_in_lines(app.env.kc_chapter_uses.get(name, [])))
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


def _api_docs_outdated(app, env, added, changed, removed) -> list[str]:
    """Pages documenting the library, and the execution statistics, are read again every
    build: chapters (and test runs) may have changed."""
    pages = set(getattr(env, "kc_api_docs", set())) | {STATISTICS_PAGE}
    return sorted(d for d in pages if d in env.found_docs)


#: The page whose ``{execution-statistics}`` block is generated from the chapters' run cards.
STATISTICS_PAGE = "chapters/appendix/execution_statistics"
STATISTICS_BLOCK = re.compile(r"^```\{execution-statistics\}\n```\n", re.M)


def statistics_rows(app, docnames: Iterable[str]) -> list[tuple[str, str, dict]]:
    """``(docname, title, run record)`` of every chapter notebook, in book order; a chapter
    without a complete run card is a build warning (an error with ``-W``), naming it."""
    from kerascool_lib import _stats

    rows = []
    for docname in _book_order(app, docnames):
        path = pathlib.Path(app.env.doc2path(docname))
        if path.suffix != ".ipynb":
            continue
        try:
            rows.append(_stats.chapter_row(docname, path))
        except ValueError as err:
            logger.warning(f"{docname} has no execution statistics: {err}", location=STATISTICS_PAGE)
    return rows


def _fill_statistics(app, docname, source) -> None:
    if docname != STATISTICS_PAGE:
        return
    from kerascool_lib import _stats

    if not STATISTICS_BLOCK.search(source[0]):
        logger.warning("the {execution-statistics} block is missing", location=docname)
        return
    table = _stats.statistics_markdown(app.srcdir, statistics_rows(app, app.env.found_docs))
    source[0] = STATISTICS_BLOCK.sub(lambda m: table, source[0], count=1)


def _purge(app, env, docname) -> None:
    getattr(env, "kc_api_docs", set()).discard(docname)


def _merge(app, env, docnames, other) -> None:
    if not hasattr(env, "kc_api_docs"):
        env.kc_api_docs = set()
    env.kc_api_docs |= getattr(other, "kc_api_docs", set())


def setup(app):
    app.setup_extension("sphinx.ext.autodoc")  # its events are connected below
    app.add_config_value("kc_web_dir", "web", "html")
    app.connect("config-inited", _use_local_assets)
    app.connect("builder-inited", _install_assets)
    app.connect("env-before-read-docs", _scan_chapters)
    app.connect("autodoc-process-docstring", _save_data_docs, priority=400)
    app.connect("autodoc-process-docstring", _restore_data_docs, priority=550)
    # after napoleon (priority 500) has turned the Google-style sections into reST
    app.connect("autodoc-process-docstring", _add_used_in, priority=600)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("env-get-outdated", _api_docs_outdated)
    app.connect("source-read", _fill_statistics)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
