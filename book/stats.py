"""Execution statistics of the book: what each chapter costs, for the *Execution statistics* page.

    python -m book.stats show     # the page's table, from the chapters and the last test run
    python -m book.stats save     # after a full, passing `make test` (`make stats`)

Two sources:

- a chapter's **stored run**: the run card every chapter displays (``kc.setup`` at the top,
  ``run.finish`` at the bottom) is stored in the notebook's outputs as a structured record,
  read back with :func:`kerascool_lib.runtime.read_run_card`: profile, device, versions, wall
  time, headline metrics, and the date of the run;
- its **smoke run** in the last test run: ``tests/book/test_notebooks_papermill.py`` times each
  chapter's papermill run (kernel start included) and records it under ``_build/exec-stats/``
  (git-ignored), and :mod:`book.pytest_plugin` records the whole test command's duration when
  it ran the full suite.

``python -m book.stats save`` copies the last full, passing test run into the committed
snapshot :data:`SNAPSHOT`, so a fresh clone's book shows measured smoke times too. The page is
generated from all of this at build time (:func:`statistics_markdown`, called by
:mod:`book.sphinx_ext`).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import pathlib
import platform
import sys
import tempfile

#: Local records of test runs, relative to the repository root (git-ignored).
LOCAL_DIR = pathlib.PurePosixPath("_build/exec-stats")
#: The committed snapshot of the last full test run, relative to the repository root.
SNAPSHOT = pathlib.PurePosixPath("chapters/appendix/execution_statistics.json")
#: Budgets shown on the page.
SMOKE_BUDGET_S = 45.0
#: A chapter's stored run (the ``cpu`` profile, on two CPU cores): a reader's wait for one page.
CPU_BUDGET_S = 5 * 60.0
SUITE_BUDGET_S = 20 * 60.0
#: The one test that may fail in a run saved as the snapshot: the one that checks the
#: snapshot itself covers every chapter (it fails until the snapshot is saved).
SNAPSHOT_TEST = "tests/book/test_stats.py::test_the_snapshot_has_a_smoke_time_for_every_chapter"
#: How the run card names the versions it records, in the order it shows them.
_VERSION_LABELS = (("python", "Python"), ("tensorflow", "TensorFlow"), ("jax", "JAX"), ("keras", "Keras"))


def versions_text(card: dict) -> str:
    """The backend and versions of a run card (:func:`kerascool_lib.runtime.read_run_card`) as
    one line: ``tensorflow · Python 3.11.7 · TensorFlow 2.21.0 · Keras 3.15.1``."""
    versions = card.get("versions") or {}
    stack = [f"{label} {versions[key]}" for key, label in _VERSION_LABELS if key in versions]
    return " · ".join([str(card.get("backend") or versions.get("backend") or "?")] + stack)


def chapter_row(docname: str, path) -> tuple[str, str, dict]:
    """``(docname, title, run card)`` of the chapter notebook at ``path``: its first heading
    and :func:`kerascool_lib.runtime.read_run_card` (which raises ``ValueError`` naming what is
    missing when the notebook has no complete run card)."""
    from kerascool_lib.runtime import read_run_card

    nb = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    source = nb["cells"][0]["source"]
    title = ("".join(source) if isinstance(source, list) else source).splitlines()[0].lstrip("# ").strip()
    return docname, title, read_run_card(nb)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_json(path: pathlib.Path, data) -> pathlib.Path:
    """Write ``data`` as JSON atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def machine() -> str:
    """A one-line description of this machine: CPU model, cores, OS."""
    from kerascool_lib import _machine  # stdlib only; the run card names the CPU the same way

    return f"{_machine.cpu_model()}, {os.cpu_count()} cores, {platform.system()}"


#: The Keras backends the test command runs the library and every chapter on, in its order.
BACKENDS = ("tensorflow", "jax")
#: How the page names them.
BACKEND_NAMES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}


def _check_backend(backend) -> str:
    if backend not in BACKEND_NAMES:
        raise ValueError(f"`backend` must be one of {sorted(BACKEND_NAMES)}. Received: {backend!r}")
    return backend


def record_smoke_run(root, chapter: str, seconds: float, backend: str = "tensorflow") -> pathlib.Path:
    """Record that ``chapter`` (e.g. ``chapters/start/getting_started``) ran and passed its checks
    in the smoke profile on the Keras ``backend`` in ``seconds``; returns the record's path under
    ``root/_build/exec-stats``."""
    if not isinstance(chapter, str) or not chapter.startswith("chapters/") or chapter.endswith(".ipynb"):
        raise ValueError(f"`chapter` must be a docname like 'chapters/start/getting_started'. Received: {chapter!r}")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
        raise ValueError(f"`seconds` must be a non-negative number. Received: {seconds!r}")
    backend = _check_backend(backend)
    path = pathlib.Path(root) / LOCAL_DIR / "smoke" / backend / (chapter.replace("/", "__") + ".json")
    return _write_json(path, {"chapter": chapter, "backend": backend, "seconds": round(float(seconds), 1),
                              "finished": _now()})


def record_test_run(root, started: float, seconds: float, tests: int, failed: list[str], exitstatus: int,
                    backend: str = "tensorflow", command: str | None = None) -> pathlib.Path:
    """Record one pass of the test command over the whole suite on the Keras ``backend``: when
    (``started``, seconds since the epoch), how long, how many tests, the ids of those that
    failed, the exit status. ``command`` identifies the invocation of the test command the pass
    belongs to (``make test`` runs one pass per backend and gives both the same identifier in
    ``KERASCOOL_TEST_COMMAND``); without it, the pass stands alone."""
    backend = _check_backend(backend)
    started_at = _dt.datetime.fromtimestamp(started, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _write_json(pathlib.Path(root) / LOCAL_DIR / f"test-run-{backend}.json", {
        "backend": backend,
        "command": command or f"pass-{started}",
        "started": started_at,
        "started_epoch": started,
        "seconds": round(float(seconds), 1),
        "tests": int(tests),
        "failed": len(failed),
        "failed_tests": sorted(failed),
        "exitstatus": int(exitstatus),
        "machine": machine(),
        "python": platform.python_version(),
    })


def _combine(passes: list[dict]) -> dict:
    """One test run from its passes (one per backend, in :data:`BACKENDS` order)."""
    passes = sorted(passes, key=lambda p: (BACKENDS + (p["backend"],)).index(p["backend"]))
    failed_tests = sorted({t for p in passes for t in p["failed_tests"]})
    return {
        "started": min(p["started"] for p in passes),
        "seconds": round(sum(p["seconds"] for p in passes), 1),
        "tests": sum(p["tests"] for p in passes),
        "failed": sum(p["failed"] for p in passes),
        "failed_tests": failed_tests,
        "exitstatus": max(p["exitstatus"] for p in passes),
        "machine": passes[0]["machine"],
        "python": passes[0]["python"],
        "passes": {p["backend"]: {k: p[k] for k in ("started", "seconds", "tests", "failed", "exitstatus")}
                   for p in passes},
    }


def local_test_run(root) -> dict | None:
    """The last full test command recorded in this checkout (its passes, one per backend, and
    the smoke time of each chapter on each backend; records older than their pass are
    ignored), or None."""
    base = pathlib.Path(root) / LOCAL_DIR
    passes = []
    for path in sorted(base.glob("test-run-*.json")):
        try:
            passes.append(json.loads(path.read_text()))
        except ValueError:
            continue
    if not passes:
        return None
    newest = max(passes, key=lambda p: p["started_epoch"])["command"]
    passes = [p for p in passes if p["command"] == newest]
    chapters: dict[str, dict[str, float]] = {}
    for run in passes:
        for path in sorted((base / "smoke" / run["backend"]).glob("*.json")):
            try:
                rec = json.loads(path.read_text())
            except ValueError:
                continue
            if path.stat().st_mtime >= run["started_epoch"]:
                chapters.setdefault(rec["chapter"], {})[run["backend"]] = rec["seconds"]
    run = _combine(passes)
    run["chapters"] = chapters
    run["source"] = "the last full test run in this checkout"
    return run


def snapshot_test_run(root) -> dict | None:
    """The committed snapshot of a full test run, or None."""
    try:
        run = json.loads((pathlib.Path(root) / SNAPSHOT).read_text())
    except (OSError, ValueError):
        return None
    run["source"] = f"the snapshot `{SNAPSHOT}` saved from a full test run"
    return run


def latest_test_run(root) -> dict | None:
    """The newest of the local last full test run and the committed snapshot."""
    runs = [r for r in (local_test_run(root), snapshot_test_run(root)) if r]
    return max(runs, key=lambda r: r["started"]) if runs else None


def save_snapshot(root, chapters: list[str], *, allow_failed: bool = False) -> pathlib.Path:
    """Copy the local last full test run into :data:`SNAPSHOT`; refuses a run that failed (unless
    ``allow_failed``: the page then says how many tests failed), that did not pass on every
    backend of :data:`BACKENDS`, or that did not run every chapter in ``chapters`` on each of them."""
    run = local_test_run(root)
    if run is None:
        raise ValueError(f"No full test run is recorded in {pathlib.Path(root) / LOCAL_DIR}: run `make test` first.")
    failed = [t for t in run.get("failed_tests", []) if t != SNAPSHOT_TEST]
    if not allow_failed and (failed or (run["exitstatus"] != 0 and not run.get("failed_tests"))):
        raise ValueError(
            f"The last test run failed (exit status {run['exitstatus']}; failed: {', '.join(failed) or 'none reported'}): not saved."
        )
    absent = [b for b in BACKENDS if b not in run["passes"]]
    if absent:
        raise ValueError(f"The last test run has no pass on: {', '.join(absent)} (`make test` runs one per backend).")
    missing = [f"{c} ({b})" for c in chapters for b in BACKENDS if b not in run["chapters"].get(c, {})]
    if missing:
        raise ValueError(f"The last test run has no smoke time for: {', '.join(missing)}")
    run = {k: v for k, v in run.items() if k != "source"}
    run["chapters"] = {c: run["chapters"][c] for c in chapters}
    return _write_json(pathlib.Path(root) / SNAPSHOT, run)


def _minutes(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s:02d} s" if m else f"{s} s"


def over_cpu_budget(chapters: list[tuple[str, str, dict]]) -> list[str]:
    """The docnames of the chapters whose stored ``cpu`` run took longer than :data:`CPU_BUDGET_S`."""
    return [d for d, _, rec in chapters if rec["profile"] == "cpu" and rec["wall_time_s"] > CPU_BUDGET_S]


def statistics_markdown(root, chapters: list[tuple[str, str, dict]]) -> str:
    """The *Execution statistics* page's generated part, as MyST Markdown.

    ``chapters`` lists ``(docname, title, run card)`` in book order (:func:`chapter_row`); the
    smoke times, per backend, come from :func:`latest_test_run`.
    """
    run = latest_test_run(root)
    smoke = run["chapters"] if run else {}
    backends = [b for b in BACKENDS if run and b in run.get("passes", {})] or list(BACKENDS)
    names = [BACKEND_NAMES[b] for b in backends]
    lines = [
        "| Chapter | Stored run | Wall time | ≤ 5 min | Headline metric | Run on | "
        + " | ".join(f"Smoke, {n}" for n in names) + " | ≤ 45 s | Checked on |",
        "|---|---|--:|:-:|---|---|" + "--:|" * len(backends) + ":-:|---|",
    ]
    for docname, title, rec in chapters:
        metric = ", ".join(f"{k.replace('_', ' ')} {v:.4g}" for k, v in rec["metrics"].items())
        date = (rec["executed"] or "")[:10] or "?"
        times = smoke.get(docname, {})
        shown = ["not run" if times.get(b) is None else f"{times[b]:.1f} s" for b in backends]
        ran = [times[b] for b in backends if times.get(b) is not None]
        within = "—" if not ran else ("yes" if max(ran) <= SMOKE_BUDGET_S else "**no**")
        checked = ", ".join(BACKEND_NAMES[b] for b in backends if times.get(b) is not None) or "—"
        budget = "—" if rec["profile"] != "cpu" else ("yes" if rec["wall_time_s"] <= CPU_BUDGET_S else "**no**")
        lines.append(
            f"| {{doc}}`{title} </{docname}>` | {rec['profile']}, {BACKEND_NAMES.get(rec['backend'], rec['backend'])} "
            f"| {rec['wall_time_s']:.1f} s | {budget} | {metric} | {date} | " + " | ".join(shown)
            + f" | {within} | {checked} |"
        )
    total = sum(rec["wall_time_s"] for _, _, rec in chapters)
    devices = sorted({rec["device"] for _, _, rec in chapters})
    versions = sorted({versions_text(rec) for _, _, rec in chapters})
    over_cpu = over_cpu_budget(chapters)
    lines += [
        "",
        f"**Stored runs**: {len(chapters)} chapters, {_minutes(total)} of wall time in all, on "
        + "; ".join(f"`{d}`" for d in devices) + ", with " + "; ".join(f"`{v}`" for v in versions) + ". "
        + (f"{len(over_cpu)} chapter(s) over the 5 min budget." if over_cpu
           else "Every chapter's stored run took at most 5 minutes."),
        "",
    ]
    if run is None:
        lines.append("**Smoke runs**: no full test run is recorded yet. Run `make test`, then `make book`.")
    else:
        verdict = "within" if run["seconds"] <= SUITE_BUDGET_S else "**over**"
        failed = run.get("failed_tests", [])
        if run["exitstatus"] == 0 and not failed:
            outcome = "all passed"
        elif failed == [SNAPSHOT_TEST]:
            outcome = "all passed but the check that this snapshot exists, which saving it met"
        else:
            outcome = f"**{run['failed']} failed**"
        passes = run.get("passes", {})
        per_pass = "; ".join(f"{BACKEND_NAMES[b]} {_minutes(passes[b]['seconds'])} ({passes[b]['tests']} tests)"
                             for b in backends if b in passes)
        over = [d for d, t in smoke.items() if any(s > SMOKE_BUDGET_S for s in t.values())]
        lines.append(
            f"**Smoke runs**: from {run['source']}, started {run['started'].replace('T', ' ').rstrip('Z')} UTC "
            f"on `{run['machine']}`. The whole test command ({run['tests']} tests, {outcome}) took "
            f"{_minutes(run['seconds'])}" + (f" ({per_pass})" if per_pass else "")
            + f": {verdict} the {_minutes(SUITE_BUDGET_S)} budget. "
            + (f"{len(over)} chapter(s) over the 45 s smoke budget." if over else "Every chapter ran within the 45 s smoke budget.")
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    from book import toc

    parser = argparse.ArgumentParser(prog="python -m book.stats")
    sub = parser.add_subparsers(dest="command", required=True)
    save = sub.add_parser("save", help="copy the last full, passing test run into the committed snapshot")
    save.add_argument("--allow-failed", action="store_true",
                      help="save a run in which tests failed (the page says how many)")
    sub.add_parser("show", help="print the statistics table")
    args = parser.parse_args(argv)
    root = toc.ROOT
    paths = toc.chapters(root)
    docnames = [toc.docname(p, root) for p in paths]
    if args.command == "save":
        try:
            print(save_snapshot(root, docnames, allow_failed=args.allow_failed))
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        return 0
    rows = [chapter_row(d, p) for d, p in zip(docnames, paths)]
    print(statistics_markdown(root, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
