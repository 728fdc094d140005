"""A pytest plugin that records a run of the whole test suite for the *Execution statistics*
page: when it started, how long it took, how many tests ran and failed (:mod:`book.stats`,
under ``_build/exec-stats/``).

The root ``conftest.py`` loads it only where the book's tool chain is installed (the book is
built there): a run elsewhere, e.g. ``make colab-check`` on Colab's versions, is not the
book's. Only a run of the whole suite counts (no paths, ``-k`` or ``-m`` given). ``make test``
runs the suite once per Keras backend (``KERAS_BACKEND``), and each pass is recorded as such,
with the identifier of the command both belong to (``KERASCOOL_TEST_COMMAND``).
"""

from __future__ import annotations

import os
import pathlib
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
_FAILED: list[str] = []
#: Each chapter nbval ran: its cells' total time (kernel start and stop included) and outcome.
_NBVAL: dict[str, dict] = {}


def is_whole_suite(config) -> bool:
    """Whether this run runs every test: the ``testpaths``, nothing selected or left out."""
    option = config.option
    narrowing = ("collectonly", "keyword", "markexpr", "deselect", "ignore", "ignore_glob", "lf", "failedfirst", "exitfirst")
    # pytest's option names vary across versions: a missing one narrows nothing
    return (config.args_source == pytest.Config.ArgsSource.TESTPATHS
            and not any(getattr(option, name, None) for name in narrowing)
            and not getattr(option, "maxfail", 0))


def pytest_sessionstart(session):
    session.config._kc_suite_started = (time.time(), time.perf_counter())


def pytest_runtest_logreport(report):
    if report.failed:  # on the controller, this sees every xdist worker's reports too
        _FAILED.append(report.nodeid)
    path = report.nodeid.split("::")[0]
    if path.startswith("chapters/") and path.endswith(".ipynb"):  # a cell nbval ran
        chapter = _NBVAL.setdefault(path, {"seconds": 0.0, "passed": 0, "failed": False})
        chapter["seconds"] += report.duration
        chapter["passed"] += report.when == "call" and report.passed
        chapter["failed"] |= report.failed or (report.when == "call" and report.skipped)


def _record_nbval_runs(config):
    """Each chapter nbval ran with every cell passing: its smoke time on this backend, for the
    *Execution statistics* page (on JAX papermill runs the chapters and records them)."""
    import keras

    from book import stats, toc

    for path, chapter in sorted(_NBVAL.items()):
        if chapter["passed"] and not chapter["failed"]:
            docname = toc.docname(pathlib.Path(config.rootpath) / path, config.rootpath)
            stats.record_smoke_run(config.rootpath, docname, chapter["seconds"], keras.backend.backend())


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    started = getattr(config, "_kc_suite_started", None)
    if started is None or hasattr(config, "workerinput"):  # xdist workers: the controller records
        return
    _record_nbval_runs(config)
    if not is_whole_suite(config):
        return  # a partial run says nothing about the suite's duration
    import keras

    from book import stats

    stats.record_test_run(
        ROOT, started[0], time.perf_counter() - started[1],
        tests=session.testscollected, failed=sorted(set(_FAILED)), exitstatus=int(exitstatus),
        backend=keras.backend.backend(), command=os.environ.get("KERASCOOL_TEST_COMMAND"),
    )
