"""The mutation run's test order and time limit (tests/mutation_run.py) and test ids that can
be named on the command line (tests/ids.py)."""

from __future__ import annotations

import json
import time

import pytest
from ids import plain
from mutation_run import (
    MutantTimeout,
    active_mutant,
    deadline,
    function_of,
    killers,
    module_stem,
    order,
    record_kill,
    time_limit,
)

MUTANT = "tui.store.atomic.xǁAtomicJSONStorageǁread__mutmut_12"


def _stats(root, durations):
    (root / "mutmut-stats.json").write_text(json.dumps({"duration_by_test": durations}))


def test_a_mutant_is_known_by_its_function_and_module():
    assert function_of(MUTANT) == "tui.store.atomic.xǁAtomicJSONStorageǁread"
    assert module_stem(MUTANT) == "atomic"
    assert function_of("tui.text.x_sanitize__mutmut_3") == "tui.text.x_sanitize"
    assert module_stem("tui.text.x_sanitize__mutmut_3") == "text"


@pytest.mark.parametrize("value", ["", "stats", "fail", "tui.text.x_sanitize"])
def test_only_a_mutant_name_makes_a_mutant_run(monkeypatch, value):
    monkeypatch.setenv("MUTANT_UNDER_TEST", value)
    assert active_mutant() is None
    monkeypatch.setenv("MUTANT_UNDER_TEST", "tui.text.x_sanitize__mutmut_3")
    assert active_mutant() == "tui.text.x_sanitize__mutmut_3"


def test_killers_come_first_most_recent_first_then_own_tests_then_quickest(tmp_path):
    _stats(
        tmp_path,
        {
            "tests/test_cli.py::slow": 2.0,
            "tests/test_cli.py::quick": 0.01,
            "tests/test_unit_atomic.py::own_slow": 5.0,
            "tests/test_hostile.py::caught_it_first": 0.5,
            "tests/test_files.py::caught_it_last": 0.5,
        },
    )
    record_kill(
        tmp_path,
        "tui.store.atomic.xǁAtomicJSONStorageǁread__mutmut_1",
        "tests/test_hostile.py::caught_it_first",
    )
    record_kill(
        tmp_path,
        "tui.store.atomic.xǁAtomicJSONStorageǁread__mutmut_2",
        "tests/test_files.py::caught_it_last",
    )
    # Another function's killer does not count for this one.
    record_kill(
        tmp_path, "tui.store.atomic.x_write_private_file__mutmut_1", "tests/test_cli.py::slow"
    )
    nodeids = [
        "tests/test_cli.py::slow",
        "tests/test_unit_atomic.py::own_slow",
        "tests/test_cli.py::unknown",
        "tests/test_hostile.py::caught_it_first",
        "tests/test_cli.py::quick",
        "tests/test_files.py::caught_it_last",
    ]
    assert order(nodeids, MUTANT, tmp_path) == [
        "tests/test_files.py::caught_it_last",
        "tests/test_hostile.py::caught_it_first",
        "tests/test_unit_atomic.py::own_slow",
        "tests/test_cli.py::quick",
        "tests/test_cli.py::unknown",  # no recorded time: 1 s
        "tests/test_cli.py::slow",
    ]


def test_a_killer_recorded_twice_is_listed_once(tmp_path):
    for nodeid in ("a", "b", "a"):
        record_kill(tmp_path, MUTANT, nodeid)
    assert killers(tmp_path, MUTANT) == ["a", "b"]
    assert killers(tmp_path, "tui.text.x_sanitize__mutmut_1") == []


def test_the_own_test_files_are_the_modules_by_name_only(tmp_path):
    nodeids = [
        "tests/test_unit_atomicity.py::t",
        "tests/test_unit_atomic_more.py::t",
        "tests/test_atomic.py::t",
    ]
    assert order(nodeids, MUTANT, tmp_path) == [nodeids[1], nodeids[2], nodeids[0]]


def test_the_time_limit_is_twenty_times_the_recorded_time_and_at_least_three_seconds(tmp_path):
    _stats(tmp_path, {"quick": 0.01, "slow": 0.5})
    assert time_limit("quick", tmp_path) == 3.0
    assert time_limit("slow", tmp_path) == 10.0
    assert time_limit("unknown", tmp_path) == 20.0


def test_a_deadline_stops_a_loop_that_never_ends():
    started = time.monotonic()
    with pytest.raises(MutantTimeout), deadline(0.2):
        while True:
            pass
    assert time.monotonic() - started < 2


def test_a_deadline_that_is_met_leaves_no_alarm_behind():
    with deadline(0.2):
        pass
    time.sleep(0.3)  # an alarm left set would raise here


@pytest.mark.parametrize(
    ("value", "expected"),
    [("lab\x1b[31m", "'lab~x1b[31m'"), ("é", "'~xe9'"), (b"\xff", "b'~xff'"), ("plain", "'plain'")],
)
def test_a_test_id_has_no_backslash_and_no_character_beyond_ascii(value, expected):
    assert plain(value) == expected
    assert plain(value, 3) == expected[:3]
