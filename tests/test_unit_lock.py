"""The index lock: one writer at a time, taken per write (waiting a little), a clear refusal, no
symlink followed."""

from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path

import pytest
from ids import plain

from tui.store import lock as lock_module
from tui.store.lock import IndexInUse, IndexLock


def held_by_someone_else(path: Path, content: bytes) -> int:
    """An open file description holding the lock, as another process would (flock locks
    belong to the open file, so a second open in this process conflicts just the same)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.write(fd, content)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def test_the_lock_file_is_index_lock_in_the_directory(tmp_path):
    assert IndexLock(tmp_path).path == tmp_path / "index.lock"
    lock = IndexLock(tmp_path)
    lock.acquire()
    try:
        assert sorted(p.name for p in tmp_path.iterdir()) == ["index.lock"]
    finally:
        lock.release()


def test_acquiring_writes_our_pid_alone_into_a_private_file(tmp_path):
    (tmp_path / "index.lock").write_bytes(b"99999999999 left by an earlier run")
    lock = IndexLock(tmp_path)
    lock.acquire()
    try:
        assert (tmp_path / "index.lock").read_bytes() == str(os.getpid()).encode()
    finally:
        lock.release()


def test_a_new_lock_file_is_created_with_mode_0600(tmp_path):
    old = os.umask(0)
    try:
        lock = IndexLock(tmp_path)
        lock.acquire()
    finally:
        os.umask(old)
    try:
        assert stat.S_IMODE((tmp_path / "index.lock").stat().st_mode) == 0o600
    finally:
        lock.release()


def test_the_lock_file_is_not_inherited_by_child_processes(tmp_path):
    lock = IndexLock(tmp_path)
    lock.acquire()
    try:
        assert fcntl.fcntl(lock._fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
    finally:
        lock.release()


def test_a_second_lock_on_the_same_directory_is_refused_naming_the_holder(tmp_path):
    first = IndexLock(tmp_path)
    first.acquire()
    try:
        with pytest.raises(IndexInUse) as info:
            IndexLock(tmp_path).acquire()
        assert str(info.value) == (
            f"the index at {tmp_path} is in use by another responses-tui (pid {os.getpid()}); "
            "close it first"
        )
        assert info.value.__cause__ is None and info.value.__suppress_context__
    finally:
        first.release()


def test_a_refusal_leaves_the_holder_and_its_pid_untouched(tmp_path):
    fd = held_by_someone_else(tmp_path / "index.lock", b"4242")
    try:
        with pytest.raises(IndexInUse, match=r"\(pid 4242\)"):
            IndexLock(tmp_path).acquire()
        assert (tmp_path / "index.lock").read_bytes() == b"4242"
    finally:
        os.close(fd)


def test_only_the_first_32_bytes_of_the_lock_file_are_read_for_the_pid(tmp_path):
    fd = held_by_someone_else(tmp_path / "index.lock", b"1" * 32 + b"2" * 1000)
    try:
        with pytest.raises(IndexInUse) as info:
            IndexLock(tmp_path).acquire()
    finally:
        os.close(fd)
    assert f"(pid {'1' * 32})" in str(info.value)


@pytest.mark.parametrize("content", [b"", b"not a pid", b"12ab", b"-3", b"\xff\xfe1"], ids=plain)
def test_a_holder_without_a_readable_pid_is_not_named(tmp_path, content):
    fd = held_by_someone_else(tmp_path / "index.lock", content)
    try:
        with pytest.raises(IndexInUse) as info:
            IndexLock(tmp_path).acquire()
    finally:
        os.close(fd)
    assert str(info.value) == (
        f"the index at {tmp_path} is in use by another responses-tui; close it first"
    )


def test_a_holder_whose_pid_cannot_be_read_is_not_named(tmp_path, monkeypatch):
    fd = held_by_someone_else(tmp_path / "index.lock", b"4242")

    def unreadable(*_args):
        raise OSError("read failed")

    monkeypatch.setattr(lock_module.os, "pread", unreadable)
    try:
        with pytest.raises(IndexInUse) as info:
            IndexLock(tmp_path).acquire()
    finally:
        os.close(fd)
    assert str(info.value) == (
        f"the index at {tmp_path} is in use by another responses-tui; close it first"
    )


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_refused_lock_does_not_keep_its_file_open(tmp_path):
    fd = held_by_someone_else(tmp_path / "index.lock", b"1")
    try:
        before = open_files()
        lock = IndexLock(tmp_path)
        for _ in range(3):
            with pytest.raises(IndexInUse):
                lock.acquire()
        assert open_files() == before
        lock.release()  # holds nothing: nothing to do
    finally:
        os.close(fd)


def test_release_lets_the_next_one_in_and_is_harmless_twice(tmp_path):
    first = IndexLock(tmp_path)
    first.release()  # never acquired: nothing to do
    first.acquire()
    first.release()
    first.release()
    second = IndexLock(tmp_path)
    second.acquire()  # the first one's lock is gone
    second.release()
    first.acquire()  # and the same object can take it again
    try:
        with pytest.raises(IndexInUse):
            IndexLock(tmp_path).acquire()
    finally:
        first.release()


def test_release_closes_the_lock_file(tmp_path):
    lock = IndexLock(tmp_path)
    lock.acquire()
    fd = lock._fd
    lock.release()
    assert lock._fd is None
    with pytest.raises(OSError):
        os.fstat(fd)


def test_a_symlink_at_the_lock_path_is_refused_and_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    directory = tmp_path / "index"
    directory.mkdir()
    (directory / "index.lock").symlink_to(victim)
    with pytest.raises(OSError) as info:
        IndexLock(directory).acquire()
    assert info.type is OSError
    assert str(info.value) == (
        f"{directory / 'index.lock'} is a symbolic link, not the index's lock file: remove it"
    )
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert victim.read_text() == "precious\n"


def test_another_error_opening_the_lock_file_is_raised_as_it_is(tmp_path):
    missing = tmp_path / "no such directory"
    with pytest.raises(FileNotFoundError) as info:
        IndexLock(missing).acquire()
    assert info.value.filename == str(missing / "index.lock")


def test_a_waiting_acquire_gets_the_lock_once_the_holder_lets_go(tmp_path):
    import threading
    import time

    holder = IndexLock(tmp_path)
    holder.acquire()
    threading.Timer(0.2, holder.release).start()
    waiter = IndexLock(tmp_path)
    started = time.monotonic()
    waiter.acquire(wait=5.0)
    try:
        assert 0.15 < time.monotonic() - started < 4.0
        assert (tmp_path / "index.lock").read_bytes() == str(os.getpid()).encode()
    finally:
        waiter.release()


def test_a_wait_that_runs_out_says_the_index_is_busy_naming_the_holder(tmp_path):
    fd = held_by_someone_else(tmp_path / "index.lock", b"4242")
    try:
        with pytest.raises(IndexInUse) as info:
            IndexLock(tmp_path).acquire(wait=0.1)
    finally:
        os.close(fd)
    assert str(info.value) == (
        f"the index at {tmp_path} is busy: another responses-tui (pid 4242) has been writing "
        "to it for 0.1 s; try again, or end that process"
    )
