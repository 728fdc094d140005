"""pytest at the repository root: notebooks and doctests run in the smoke profile.

Notebook kernels started by nbval and papermill inherit this environment.

A run of the whole suite (``make test``: no paths given, so pytest uses ``testpaths``) is
recorded under ``_build/exec-stats/`` for the book's *Execution statistics* page: when it
started, how long it took, how many tests ran and failed. The papermill test records each
chapter's smoke run there too.
"""

import os
import pathlib
import time

import pytest

os.environ.setdefault("KERASCOOL_PROFILE", "smoke")

ROOT = pathlib.Path(__file__).resolve().parent


_FAILED: list[str] = []


def pytest_sessionstart(session):
    session.config._kc_suite_started = (time.time(), time.perf_counter())


def pytest_runtest_logreport(report):
    if report.failed:  # on the controller, this sees every xdist worker's reports too
        _FAILED.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    started = getattr(config, "_kc_suite_started", None)
    if started is None or hasattr(config, "workerinput"):  # xdist workers: the controller records
        return
    if config.args_source != pytest.Config.ArgsSource.TESTPATHS or config.option.keyword or config.option.markexpr:
        return  # a partial run says nothing about the suite's duration
    from kerascool_lib import _stats

    _stats.record_test_run(
        ROOT, started[0], time.perf_counter() - started[1],
        tests=session.testscollected, failed=sorted(set(_FAILED)), exitstatus=int(exitstatus),
    )
