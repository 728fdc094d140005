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


def record_smoke_run(root, chapter: str, seconds: float) -> pathlib.Path:
    """Record that ``chapter`` (e.g. ``chapters/start/getting_started``) ran in the smoke
    profile in ``seconds``; returns the record's path under ``root/_build/exec-stats``."""
    if not isinstance(chapter, str) or not chapter.startswith("chapters/") or chapter.endswith(".ipynb"):
        raise ValueError(f"`chapter` must be a docname like 'chapters/start/getting_started'. Received: {chapter!r}")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
        raise ValueError(f"`seconds` must be a non-negative number. Received: {seconds!r}")
    path = pathlib.Path(root) / LOCAL_DIR / "smoke" / (chapter.replace("/", "__") + ".json")
    return _write_json(path, {"chapter": chapter, "seconds": round(float(seconds), 1), "finished": _now()})


def record_test_run(root, started: float, seconds: float, tests: int, failed: list[str], exitstatus: int) -> pathlib.Path:
    """Record a full run of the test command (the whole suite): when (``started``, seconds
    since the epoch), how long, how many tests, the ids of those that failed, the exit status."""
    started_at = _dt.datetime.fromtimestamp(started, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _write_json(pathlib.Path(root) / LOCAL_DIR / "test-run.json", {
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


def local_test_run(root) -> dict | None:
    """The last full test run recorded in this checkout, with the smoke time of each chapter
    it ran (records older than the run are ignored), or None."""
    base = pathlib.Path(root) / LOCAL_DIR
    try:
        run = json.loads((base / "test-run.json").read_text())
    except (OSError, ValueError):
        return None
    chapters = {}
    for path in sorted((base / "smoke").glob("*.json")):
        try:
            rec = json.loads(path.read_text())
        except ValueError:
            continue
        if path.stat().st_mtime >= run["started_epoch"]:
            chapters[rec["chapter"]] = rec["seconds"]
    run = {k: v for k, v in run.items() if k != "started_epoch"}
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


def save_snapshot(root, chapters: list[str]) -> pathlib.Path:
    """Copy the local last full test run into :data:`SNAPSHOT`; refuses a run that failed or
    that did not run every chapter in ``chapters``."""
    run = local_test_run(root)
    if run is None:
        raise ValueError(f"No full test run is recorded in {pathlib.Path(root) / LOCAL_DIR}: run `make test` first.")
    failed = [t for t in run.get("failed_tests", []) if t != SNAPSHOT_TEST]
    if failed or (run["exitstatus"] != 0 and not run.get("failed_tests")):
        raise ValueError(
            f"The last test run failed (exit status {run['exitstatus']}; failed: {', '.join(failed) or 'none reported'}): not saved."
        )
    missing = [c for c in chapters if c not in run["chapters"]]
    if missing:
        raise ValueError(f"The last test run has no smoke time for: {', '.join(missing)}")
    run = {k: v for k, v in run.items() if k != "source"}
    run["chapters"] = {c: run["chapters"][c] for c in chapters}
    return _write_json(pathlib.Path(root) / SNAPSHOT, run)


def _minutes(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s:02d} s" if m else f"{s} s"


def statistics_markdown(root, chapters: list[tuple[str, str, dict]]) -> str:
    """The *Execution statistics* page's generated part, as MyST Markdown.

    ``chapters`` lists ``(docname, title, run card)`` in book order (:func:`chapter_row`); the
    smoke times come from :func:`latest_test_run`.
    """
    run = latest_test_run(root)
    smoke = run["chapters"] if run else {}
    lines = [
        "| Chapter | Stored run | Wall time | Headline metric | Run on | Smoke run | ≤ 45 s |",
        "|---|---|--:|---|---|--:|:-:|",
    ]
    for docname, title, rec in chapters:
        metric = ", ".join(f"{k.replace('_', ' ')} {v:.4g}" for k, v in rec["metrics"].items())
        date = (rec["executed"] or "")[:10] or "?"
        seconds = smoke.get(docname)
        within = "—" if seconds is None else ("yes" if seconds <= SMOKE_BUDGET_S else "**no**")
        shown = "not run" if seconds is None else f"{seconds:.1f} s"
        lines.append(
            f"| {{doc}}`{title} </{docname}>` | {rec['profile']} | {rec['wall_time_s']:.1f} s "
            f"| {metric} | {date} | {shown} | {within} |"
        )
    total = sum(rec["wall_time_s"] for _, _, rec in chapters)
    devices = sorted({rec["device"] for _, _, rec in chapters})
    versions = sorted({versions_text(rec) for _, _, rec in chapters})
    lines += [
        "",
        f"**Stored runs**: {len(chapters)} chapters, {_minutes(total)} of wall time in all, on "
        + "; ".join(f"`{d}`" for d in devices) + ", with " + "; ".join(f"`{v}`" for v in versions) + ".",
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
        over = [d for d, s in smoke.items() if s > SMOKE_BUDGET_S]
        lines.append(
            f"**Smoke runs**: from {run['source']}, started {run['started'].replace('T', ' ').rstrip('Z')} UTC "
            f"on `{run['machine']}`. The whole test command ({run['tests']} tests, {outcome}) took "
            f"{_minutes(run['seconds'])}: {verdict} the {_minutes(SUITE_BUDGET_S)} budget. "
            + (f"{len(over)} chapter(s) over the 45 s smoke budget." if over else "Every chapter ran within the 45 s smoke budget.")
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    from book import toc

    parser = argparse.ArgumentParser(prog="python -m book.stats")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("save", help="copy the last full, passing test run into the committed snapshot")
    sub.add_parser("show", help="print the statistics table")
    args = parser.parse_args(argv)
    root = toc.ROOT
    paths = toc.chapters(root)
    docnames = [toc.docname(p, root) for p in paths]
    if args.command == "save":
        try:
            print(save_snapshot(root, docnames))
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        return 0
    rows = [chapter_row(d, p) for d, p in zip(docnames, paths)]
    print(statistics_markdown(root, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
