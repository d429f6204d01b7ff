"""connect: the scope of a profile's ids, the offline backend, and clients for any profile."""

from __future__ import annotations

import pytest

from tui.api.errors import MissingApiKey
from tui.api.profiles import LOCAL_BASE_URL, Profile, resolve_profile
from tui.ops.connect import make_client, offline_backend, server_id
from tui.paths import backend_dir

LOCAL = resolve_profile("local", {})


def profile(base_url: str, **extra) -> Profile:
    return Profile(name="p", base_url=base_url, **extra)


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://api.example.com/v1", "https://api.example.com/v1"),
        ("  HTTPS://Api.Example.COM/v1/ ", "https://api.example.com/v1"),
        ("https://api.example.com/v1///", "https://api.example.com/v1"),
        # The path keeps its case; only trailing slashes go (not an X, not a leading slash).
        ("https://h.example/API/X/", "https://h.example/API/X"),
        ("https://h.example/", "https://h.example"),
        # A query or a fragment is no part of the scope.
        ("https://h.example/v1?account=7#top", "https://h.example/v1"),
        ("http://localhost:8080/v1", "http://localhost:8080/v1"),
    ],
)
def test_server_id_is_the_normalised_base_url(base_url, expected):
    assert server_id(profile(base_url)) == expected


def test_profiles_on_one_server_share_a_scope():
    one = profile("https://api.fireworks.ai/inference/v1")
    other = Profile(
        name="mine",
        base_url="https://API.fireworks.ai/inference/v1/",
        headers={"x-account": "${ACCT}"},
    )
    assert server_id(one) == server_id(other)


def test_offline_backend_uses_the_given_directory_and_seed(tmp_path):
    first = offline_backend(tmp_path / "a", seed=5)
    again = offline_backend(tmp_path / "b", seed=5)
    other = offline_backend(tmp_path / "c", seed=6)
    assert first.store.directory == tmp_path / "a"
    assert (tmp_path / "a").is_dir()
    ids = [first.ids.response(), first.ids.response()]
    assert ids == [again.ids.response(), again.ids.response()]
    assert ids[0] != ids[1]
    assert other.ids.response() != ids[0]
    assert first.delta_delay == 0.0


def test_offline_backend_passes_the_delta_delay(tmp_path):
    assert offline_backend(tmp_path, delta_delay=0.25).delta_delay == 0.25


def test_offline_backend_defaults_to_the_data_directory(isolated_env):
    backend = offline_backend()
    assert backend.store.directory == backend_dir()
    assert str(backend.store.directory).startswith(str(isolated_env))


async def test_a_local_client_talks_to_the_given_backend_in_process(tmp_path):
    backend = offline_backend(tmp_path / "given", seed=1)
    async with make_client(LOCAL, {}, backend=backend) as client:
        made = await client.create({"model": "offline-echo", "input": "hello"})
    assert backend.store.get(made["id"]) is not None
    assert offline_backend().store.get(made["id"]) is None  # not the default one


async def test_a_local_client_without_a_backend_uses_the_default_one():
    async with make_client(LOCAL, {}) as client:
        made = await client.create({"model": "offline-echo", "input": "hello"})
    assert offline_backend().store.get(made["id"]) is not None


def test_a_local_client_reads_its_variables_from_the_given_environment(tmp_path):
    keyed = profile(LOCAL_BASE_URL, api_key_env="LOCAL_TEST_KEY")
    client = make_client(
        keyed, {"LOCAL_TEST_KEY": "local-secret-1"}, backend=offline_backend(tmp_path)
    )
    assert set(client.secrets()) == {"local-secret-1"}
    assert client.profile is keyed


def test_a_remote_client_reads_its_variables_from_the_given_environment():
    remote = profile("https://api.example.com/v1", api_key_env="REMOTE_TEST_KEY")
    client = make_client(remote, {"REMOTE_TEST_KEY": "remote-secret-1"})
    assert set(client.secrets()) == {"remote-secret-1"}
    assert client.profile is remote
    assert client.host == "api.example.com"
    with pytest.raises(MissingApiKey):
        make_client(remote, {})


def test_without_an_environment_the_process_one_is_used(monkeypatch, tmp_path):
    monkeypatch.setenv("REMOTE_TEST_KEY", "from-the-process")
    remote = profile("https://api.example.com/v1", api_key_env="REMOTE_TEST_KEY")
    assert set(make_client(remote).secrets()) == {"from-the-process"}
    keyed = profile(LOCAL_BASE_URL, api_key_env="REMOTE_TEST_KEY")
    local = make_client(keyed, backend=offline_backend(tmp_path))
    assert set(local.secrets()) == {"from-the-process"}
