"""tui/session.py: the profile, client, server and places, shared by the app and the CLI."""

from __future__ import annotations

import pytest

from tui.api.profiles import BUILTIN_PROFILES, Profile, profile_from_dict, profile_to_dict
from tui.ops.connect import server_id
from tui.session import Session, SessionError, catalog, unusable_text
from tui.store.index import Index


def saved(profile: Profile) -> Profile:
    """A profile as the catalogue gives it back (normalised)."""
    return profile_from_dict(profile_to_dict(profile))


LAB = saved(Profile(name="lab", base_url="http://lab.example/v1/", api_key_env=""))
TWIN = saved(Profile(name="twin", base_url="HTTP://LAB.example/v1", api_key_env=""))


def response(rid: str) -> dict:
    return {"id": rid, "object": "response", "created_at": 1, "status": "completed", "output": []}


@pytest.fixture
def index(tmp_path):
    index = Index.open(tmp_path / "index")
    yield index
    index.close()


def test_catalog_keeps_usable_profiles_and_names_the_unusable(index):
    index.save_profile(profile_to_dict(LAB))
    index.save_profile({"name": "broken", "base_url": "ftp://nowhere"})
    found = catalog(index)
    assert found.saved == {"lab": LAB}
    assert list(found.unusable) == ["broken"]
    assert set(found.profiles) == set(BUILTIN_PROFILES) | {"lab"}
    text = unusable_text("broken", found.unusable["broken"])
    assert text.startswith("saved profile 'broken' is unusable: ")
    assert text.endswith("(fix it, or remove it with `responses-tui profiles remove broken`)")
    assert "catalog.json" in unusable_text("#2", "bad")
    assert catalog(None).profiles == BUILTIN_PROFILES


def test_a_saved_profile_wins_over_a_built_in_of_the_same_name(index):
    mine = saved(Profile(name="local", base_url="http://mine.example/v1", api_key_env=""))
    index.save_profile(profile_to_dict(mine))
    assert catalog(index).profiles["local"] == mine


def test_server_names_group_the_profiles_of_one_server(index):
    index.save_profile(profile_to_dict(LAB))
    index.save_profile(profile_to_dict(TWIN))
    session = Session(index, BUILTIN_PROFILES["local"], env={})
    names = session.server_names()
    assert names[server_id(LAB)] == "lab, twin"
    assert session.profile_for(server_id(LAB)) == "lab"
    assert session.profile_for(session.server) == "local"
    assert session.profile_for("http://nobody.example/v1") is None


async def test_switch_changes_profile_client_and_server_and_keeps_each_place(index):
    index.save_profile(profile_to_dict(LAB))
    session = Session(index, BUILTIN_PROFILES["local"], env={})
    local = session.server
    index.add_response(response("resp_here"), server=local, profile="local")
    session.remember((local, "resp_here"))
    first = session.client
    old = session.switch("lab")
    assert old is first and session.client is not first
    assert session.profile == LAB and session.server == server_id(LAB)
    assert session.place() is None  # nothing remembered on lab
    await old.aclose()
    session.switch("local")
    assert session.place() == (local, "resp_here")
    index.remove(local, "resp_here")
    assert session.place() is None  # a place that is gone is no place


def test_a_switch_without_the_key_says_what_to_do_from_inside_the_app(index):
    # The CLI's advice (--profile) does not work in the app, which reads the environment once.
    session = Session(index, BUILTIN_PROFILES["local"], env={"OPENAI_API_KEY": "  "})
    client = session.client
    with pytest.raises(SessionError) as raised:
        session.switch("fireworks")
    assert str(raised.value) == (
        "the fireworks profile needs an API key and $FIREWORKS_API_KEY is not set in the "
        "environment the app started with: quit, set it in the shell, start again"
    )
    with pytest.raises(SessionError, match=r"\$OPENAI_API_KEY is not set"):
        session.switch("openai")  # blank counts as not set
    assert session.client is client and session.profile.name == "local"


def test_switch_to_an_unknown_profile_changes_nothing(index):
    session = Session(index, BUILTIN_PROFILES["local"], env={})
    client = session.client
    with pytest.raises(SessionError, match=r"^unknown profile 'nope'$"):
        session.switch("nope")
    assert session.client is client and session.profile.name == "local"
