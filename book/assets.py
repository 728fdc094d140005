"""The front-end packages the book serves itself instead of loading them from a CDN.

By default myst-nb loads the JavaScript that renders a page's stored widget state from public
CDNs, and Sphinx loads MathJax from one too: offline, every widget is silently blank and every
formula raw TeX. The book serves both itself: the embed bundle of
``@jupyter-widgets/html-manager`` and MathJax, installed from npm into ``book/web/node_modules``
by ``npm ci`` (``make book`` and ``make test`` run it), pinned by the committed
``book/web/package-lock.json``. :mod:`book.sphinx_ext` copies each, with the files it loads at
run time (fonts, MathJax components), into ``_static/web/<package>-<version>/``. If one is
missing, or is not the version the lock file pins, the build stops with an error that says
what to run, rather than render blank widgets.

``embed.js`` is the html-manager's standard embedder: it renders the widgets of
``@jupyter-widgets/base``, ``controls`` and ``output`` (all the book uses), needs no RequireJS
and never fetches a module from a CDN, unlike ``embed-amd.js``, which loads unknown widget
modules from a CDN through RequireJS. ``book/web/widgets-mathjax3.js`` gives MathJax 3 the
MathJax 2 call the widgets make (``MathJax.Hub.Queue``).

No Sphinx import here: the functions are plain and tested on their own.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re

#: The folder of the front-end packages, relative to the book's root (``kc_web_dir``).
WEB_DIR = "book/web"
#: Where the assets go below ``_static/``, each in ``<name>-<version>/`` (no stale caches).
STATIC_SUBDIR = "web"
#: Our own script (in book/web/): MathJax 2's ``MathJax.Hub.Queue``, which ipywidgets calls, on
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
    fix = "Run `make book` (it runs `npm ci` in book/web/) to install the pinned front-end packages."
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

