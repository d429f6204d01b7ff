"""Test isolation: no test sees the user's keys, profile choice or data directory."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest
from mutation_run import active_mutant, deadline, order, record_kill, time_limit

# Read when textual is imported or an App is created: clear them before textual loads.
for _var in ("NO_COLOR", "TEXTUAL_THEME"):
    os.environ.pop(_var, None)

_SCRUBBED = (
    "FIREWORKS_API_KEY",
    "FIREWORKS_ACCOUNT_ID",
    "OPENAI_API_KEY",
    "RESPONSES_TUI_PROFILE",
    "XDG_DATA_HOME",
)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Every test gets its own data directory and a clean environment."""
    for var in _SCRUBBED:
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "rtui-home"
    monkeypatch.setenv("RESPONSES_TUI_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def collector_thresholds():
    """An app under test sets the process's collector policy (tui.gcpause): the next test
    starts from CPython's again, full collections included."""
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def _names(code) -> set[str]:
    """Every name a test's code (and the functions nested in it) refers to."""
    names = set(code.co_names) | set(code.co_varnames)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _names(const)
    return names


_APP_NAMES = {"run_test", "snap_compare"}
_PROCESS_NAMES = {"subprocess", "Popen", "create_subprocess_exec", "multiprocessing"}


def pytest_collection_modifyitems(config, items):
    """Mark the tests that drive the app or start a process, so a run of the fast in-process
    unit tests (the mutation run, README "Testing") can leave them out; in a mutant's run,
    put first the tests likeliest to catch it (tests/mutation_run.py)."""
    mutant = active_mutant()
    if not mutant:  # a mutant's run names its tests, chosen by a run that marked them
        _mark(items)
    else:
        nodeids = order([item.nodeid for item in items], mutant, config.rootpath)
        rank = {nodeid: place for place, nodeid in enumerate(nodeids)}
        items.sort(key=lambda item: rank[item.nodeid])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    if not active_mutant():
        return (yield)
    with deadline(time_limit(item.nodeid, item.config.rootpath)):
        return (yield)


def pytest_runtest_logreport(report):
    mutant = active_mutant()
    if mutant and report.failed:
        # mutmut runs the tests from mutants/, the rootdir its stats are in.
        record_kill(Path.cwd(), mutant, report.nodeid)


def _mark(items):
    for item in items:
        function = getattr(item, "function", None)
        # A Hypothesis test is a wrapper: its own code is the test's.
        function = getattr(getattr(function, "hypothesis", None), "inner_test", function)
        code = getattr(function, "__code__", None)
        if code is None:
            continue
        names = _names(code) | set(getattr(item, "fixturenames", ()))
        # A helper of the test's own module that starts the app counts too.
        module = vars(item.module)
        for name in list(names):
            helper = module.get(name)
            if getattr(helper, "__module__", None) == item.module.__name__:
                names |= _names(getattr(helper, "__code__", code))
        if _APP_NAMES & names:
            item.add_marker(pytest.mark.app)
        if _PROCESS_NAMES & names:
            item.add_marker(pytest.mark.process)
