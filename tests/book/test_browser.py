"""The built book as readers see it: every page opened in headless Chromium, served from
127.0.0.1 with every other host blocked.

Needs Debian's ``chromium`` (``/usr/bin/chromium``), driven by Playwright; no browser is ever
downloaded. Without it these tests are skipped, with the reason; ``KERASCOOL_REQUIRE_BROWSER=1``
(set by ``.ci/run``) turns the skip into a failure. The book is the session's shared build
(``tests/book/conftest.py``). Screenshots of two pages go to ``_build/test-artifacts/``.
"""

import functools
import http.server
import json
import os
import pathlib
import re
import tempfile
import threading
import urllib.parse

import pytest

pytest.importorskip("jupyter_book", reason="Jupyter Book is not installed (the book's tool chain): pip install -e '.[test]'")

from nbfiles import ROOT, read, repository_url, yaml  # noqa: E402

from book import api, toc  # noqa: E402

CHROMIUM = pathlib.Path("/usr/bin/chromium")
#: The flags that keep Chromium off the network (no first-run, sync, component updates, ...).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REQUIRE = os.environ.get("KERASCOOL_REQUIRE_BROWSER") == "1"
TIMEOUT = 20_000  # ms, for one page to render its widgets and math
VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]'
#: Two representative pages kept as screenshots: a chapter at its widget, an API page.
SCREENSHOTS = {"chapters/start/getting_started": ".kc-stepper", "chapters/api/widgets": None}


def book_pages() -> list[str]:
    """Every page of the book, in book order: what _toc.yml lists (``file`` and ``glob``
    entries), and the API pages the build writes (which a fresh checkout does not hold yet)."""
    pages = toc.pages(ROOT)
    return pages + [d for d in api.page_docnames() if d not in pages]


PAGES = book_pages()
NOTEBOOK_PAGES = [p for p in PAGES if (ROOT / f"{p}.ipynb").exists()]


def notebook_expectations(page):
    """How many plots (image/png outputs), widget views and steppers (``kc.widgets.stepper``)
    a chapter's stored outputs and widget state hold."""
    if not (ROOT / f"{page}.ipynb").exists():
        return 0, 0, 0
    nb = read(ROOT / f"{page}.ipynb")
    data = [o.get("data", {}) for c in nb.cells for o in c.get("outputs", [])]
    views = sum("application/vnd.jupyter.widget-view+json" in d for d in data)
    plots = sum("image/png" in d and "application/vnd.jupyter.widget-view+json" not in d for d in data)
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    steppers = sum("kc-stepper" in m["state"].get("_dom_classes", []) for m in state.get("state", {}).values())
    return plots, views, steppers


# ---------------------------------------------------------------------------------------------
# Fixtures: a local server, one browser, and a page that records what it does


@pytest.fixture(scope="module")
def site(built_book):
    """``built_book`` served on 127.0.0.1 at a free port, for this module."""
    html = built_book.check()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", html
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    reason = None
    if not CHROMIUM.exists():
        reason = f"Debian's chromium is not installed ({CHROMIUM} is missing): apt-get install chromium"
    else:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            reason = "playwright is not installed: pip install -e '.[test]'"
    if reason:
        (pytest.fail if REQUIRE else pytest.skip)(reason)
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        # a persistent context, to give Chromium a fresh, empty --user-data-dir of our own
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900}, service_workers="block",
        )
        yield context
        context.close()


class Visit:
    """A page with everything it requested from other hosts and every error it reported."""

    def __init__(self, context):
        self.external, self.errors = [], []
        self.page = context.new_page()
        self.page.set_default_timeout(TIMEOUT)
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: r.url not in self.external and self.errors.append(
            f"request failed: {r.url} ({r.failure})"))
        self.page.on("response", lambda r: r.status >= 400 and self.errors.append(f"HTTP {r.status}: {r.url}"))
        self.page.on("websocket", lambda ws: self.external.append(ws.url))
        self.page.route("**/*", self._only_localhost)

    def _only_localhost(self, route):
        url = route.request.url
        if urllib.parse.urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.external.append(url)
            route.abort("blockedbyclient")

    def open(self, url):
        """Load the page and wait (a bounded time) for what renders after ``load``; the
        tests then check the result, so a wait that runs out only leads to a clear failure."""
        from playwright.sync_api import TimeoutError

        self.page.goto(url, wait_until="load")
        for condition in [
            # widgets: html-manager renders each view into a div.widget-subarea before its script
            f"""() => Array.from(document.querySelectorAll('{VIEW}')).every(
                s => s.previousElementSibling && s.previousElementSibling.matches('.widget-subarea')
                     && s.previousElementSibling.querySelector('.jupyter-widgets'))""",
            # math: MathJax typesets each .math element into an mjx-container
            "() => Array.from(document.querySelectorAll('.math')).every(m => m.querySelector('mjx-container'))",
            "() => Array.from(document.images).every(i => i.complete)",
        ]:
            try:
                self.page.wait_for_function(condition, timeout=TIMEOUT)
            except TimeoutError:
                pass
        return self.page

    def assert_clean(self):
        """No request left 127.0.0.1, and the page reported no error."""
        self.checked = True
        assert self.external == [], f"requests left 127.0.0.1: {self.external}"
        assert self.errors == [], "\n".join(self.errors)


@pytest.fixture
def visit(browser):
    v = Visit(browser)
    v.checked = False
    yield v
    v.page.close()
    if not v.checked:  # the test failed before its own check: still report what happened
        v.assert_clean()


# ---------------------------------------------------------------------------------------------
# Every page


def test_the_pages_listed_in_the_toc_are_the_pages_built(site):
    _, html = site
    index = (html / "searchindex.js").read_text()
    docnames = json.loads(re.search(r"Search\.setIndex\((.*)\)\s*$", index, re.S).group(1))["docnames"]
    assert sorted(docnames) == sorted(PAGES)


STEPPER_STATE = """box => {
    const shown = Array.from(box.querySelectorAll('.widget-tab-contents > *')).filter(
        p => p.getClientRects().length > 0);
    return {
        tabs: Array.from(box.querySelectorAll('.lm-TabBar-tab')).map(t => t.innerText.trim()),
        current: box.querySelector('.lm-TabBar-tab.lm-mod-current').innerText.trim(),
        readout: box.querySelector('.widget-readout').innerText.trim(),
        shown: shown.map(p => p.matches('img') ? p.src : p.querySelector('img') ? p.querySelector('img').src
                                                                              : p.innerText.trim()),
    };
}"""


def _wait(page, condition, arg=None, timeout=5_000):
    """Whether ``condition`` became true within ``timeout`` ms (the assertions say what failed)."""
    from playwright.sync_api import TimeoutError

    try:
        page.wait_for_function(condition, arg=arg, timeout=timeout)
        return True
    except TimeoutError:
        return False


def _check_steppers(page):
    """Each stepper: the slider moves the tabs, a tab moves the slider, and what is shown changes."""
    boxes = page.locator(".kc-stepper")
    for i in range(boxes.count()):
        box = boxes.nth(i)
        box.scroll_into_view_if_needed()
        first = box.evaluate(STEPPER_STATE)
        tabs = first["tabs"]
        assert len(tabs) >= 2 and first["current"] == first["readout"] == tabs[0], first
        assert len(first["shown"]) == 1, first

        box.locator(".noUi-handle").focus()
        page.keyboard.press("ArrowRight")  # the slider, one step
        moved = _wait(page, "([b, label]) => b.querySelector('.lm-TabBar-tab.lm-mod-current')"
                            ".innerText.trim() === label", arg=[box.element_handle(), tabs[1]])
        second = box.evaluate(STEPPER_STATE)
        assert second["readout"] == tabs[1], f"the slider did not move: {second}"
        assert moved and second["current"] == tabs[1], f"the slider did not move the tabs: {second}"
        assert len(second["shown"]) == 1 and second["shown"] != first["shown"], "the panel shown did not change"

        box.locator(".lm-TabBar-tab").nth(len(tabs) - 1).click()  # a tab, the last one
        moved = _wait(page, "([b, label]) => b.querySelector('.widget-readout').innerText.trim() === label",
                      arg=[box.element_handle(), tabs[-1]])
        third = box.evaluate(STEPPER_STATE)
        assert third["current"] == tabs[-1], f"the tab did not open: {third}"
        assert moved and third["readout"] == tabs[-1], f"the tab did not move the slider: {third}"
        assert len(third["shown"]) == 1 and third["shown"] not in (first["shown"], second["shown"]), \
            "the panel shown did not change"
    return boxes.count()


@pytest.mark.parametrize("name", PAGES)
def test_page(site, visit, name, artifacts):
    base, html = site
    page = visit.open(base + f"{name}.html")

    # the title: the page's heading, then the book's
    heading = page.evaluate("""() => { const h = document.querySelector('main h1').cloneNode(true);
        h.querySelectorAll('.headerlink').forEach(a => a.remove()); return h.textContent.trim(); }""")
    assert heading and page.title() == f"{heading} — Make Keras Cooler"

    # every image loaded, and every stored plot of the chapter is on the page
    broken = page.evaluate("() => Array.from(document.images).filter(i => !(i.naturalWidth > 0)).map(i => i.src)")
    assert broken == [], f"images that did not load: {broken}"
    plots, views, steppers = notebook_expectations(name)
    shown = page.evaluate("""() => Array.from(document.querySelectorAll('.cell_output img')).filter(
        i => !i.closest('.widget-subarea') && i.naturalWidth > 0).length""")
    assert shown == plots, f"{shown} plots shown, the notebook stores {plots}"

    # every widget rendered, with the local embed bundle, and only where there are widgets
    assert page.locator(VIEW).count() == views
    rendered = page.evaluate(f"""() => Array.from(document.querySelectorAll('{VIEW}')).filter(
        s => s.previousElementSibling && s.previousElementSibling.matches('.widget-subarea')
             && s.previousElementSibling.querySelector('.jupyter-widgets')).length""")
    assert rendered == views, f"{rendered} of {views} widgets rendered"
    assert page.locator('script[src*="/_static/web/html-manager-"]').count() == (1 if views else 0)
    for size in page.evaluate("() => Array.from(document.querySelectorAll('.widget-subarea')).map("
                              "d => [d.offsetWidth, d.offsetHeight])"):
        assert size[0] > 0 and size[1] > 0, "a widget rendered empty"

    # math typeset by the local MathJax: no raw TeX left
    raw = page.evaluate("() => Array.from(document.querySelectorAll('.math')).filter("
                        "m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 60))")
    assert raw == [], f"math not typeset: {raw}"

    # the client-side controls change what is shown
    assert _check_steppers(page) == steppers

    # the Colab link opens this very notebook from the book's repository
    colab = set(page.eval_on_selector_all('a[href*="colab.research.google.com"]', "els => els.map(e => e.href)"))
    if (ROOT / f"{name}.ipynb").exists():
        slug = repository_url().split("github.com/")[1]
        branch = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["branch"]
        assert colab == {f"https://colab.research.google.com/github/{slug}/blob/{branch}/{name}.ipynb"}
    else:
        assert colab == set(), f"a page that is no notebook offers Colab: {colab}"

    if name in SCREENSHOTS:
        if SCREENSHOTS[name]:
            page.locator(SCREENSHOTS[name]).first.scroll_into_view_if_needed()
            page.evaluate("() => window.scrollBy(0, -120)")
        path = artifacts / f"{name.replace('/', '__')}.png"
        page.screenshot(path=str(path))
        assert path.stat().st_size > 10_000

    visit.assert_clean()


@pytest.mark.parametrize("name", NOTEBOOK_PAGES)
def test_search_finds_the_chapter_by_its_title(site, visit, name):
    base, _ = site
    title = read(ROOT / f"{name}.ipynb").cells[0].source.splitlines()[0].lstrip("# ").strip()
    page = visit.open(base + "search.html?q=" + urllib.parse.quote(title))
    page.wait_for_selector("#search-results .search-summary")
    hits = page.eval_on_selector_all("#search-results ul.search li > a", "els => els.map(e => e.getAttribute('href'))")
    assert any(h.split("?")[0].split("#")[0] == f"{name}.html" for h in hits), hits
    visit.assert_clean()
