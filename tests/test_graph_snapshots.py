"""How the branch graph looks: snapshots of forks, folds, versions, titles and labels.

Every forest here is made through the offline backend (seeded: fixed ids) with a fixed clock,
as in tests/test_snapshots.py, and every test waits for a condition (the cursor on its turn,
the transcript of its path laid out), never for a fixed time. Regenerate after an intended
change with `pytest tests/test_graph_snapshots.py --snapshot-update` and read the report.
"""

from __future__ import annotations

from ui_helpers import LOCAL, SERVER, _run, build, show_turn, wait_for

from tui.ops.connect import make_client
from tui.ops.conversation import plan_turn, record

# (name, parent's name or None for a new conversation, what the user says)
Script = list[tuple[str, str | None, str]]

FORK_AT_ROOT: Script = [
    ("root", None, "Plan a weekend in Kyoto"),
    ("temples", "root", "Focus on temples"),
    ("temples2", "temples", "Which ones open early?"),
    ("food", "root", "Focus on food instead"),
    ("food2", "food", "Where is the best ramen?"),
]

FORK_MID_RUN: Script = [
    ("t1", None, "Turn 1: write a haiku about rain"),
    ("t2", "t1", "Turn 2: make it about snow"),
    ("t3", "t2", "Turn 3: now about the sea"),
    ("a4", "t3", "Turn 4a: add a title"),
    ("a5", "a4", "Turn 5a: translate it to French"),
    ("b4", "t3", "Turn 4b: make it rhyme"),
    ("b5", "b4", "Turn 5b: read it aloud slowly"),
]

FORK_OF_FORK: Script = [
    ("q1", None, "Name a pet turtle"),
    ("q2", "q1", "Something more regal"),
    ("a1", "q2", "Branch A: Roman emperors"),
    ("a2", "a1", "Branch A: shorter names"),
    ("aa", "a2", "Branch A.A: only Latin"),
    ("aa2", "aa", "Branch A.A: pick one"),
    ("ab", "a2", "Branch A.B: only Greek"),
    ("b1", "q2", "Branch B: kings of France"),
    ("b2", "b1", "Branch B: pick one"),
]

LONG_RUN: Script = [
    (f"s{n}", f"s{n - 1}" if n > 1 else None, f"Step {n}: one more step") for n in range(1, 31)
]

THREE_VERSIONS: Script = [
    ("p1", None, "Suggest a name for a bakery"),
    ("v1", "p1", "Version 1: French"),
    ("v1b", "v1", "Shorter, please"),
    ("v2", "p1", "Version 2: Italian"),
    ("v2b", "v2", "Shorter, please"),
    ("v3", "p1", "Version 3: Danish"),
]

NAMED: Script = [
    ("old", None, "An older conversation about tea"),
    ("old2", "old", "Green or black?"),
    ("n1", None, "Draft a cover letter for a job"),
    ("n2", "n1", "Make it less formal"),
    ("n3", "n2", "Mention five years of Python"),
    ("n4", "n3", "Cut it to half a page"),
]

# Everything at once: a closed conversation, a folded long run, a fork at the root that
# forks again, three versions of a turn, a title and bookmarks.
RICH: Script = [
    ("closed", None, "A closed conversation, one line"),
    ("closed2", "closed", "Its second turn"),
    *LONG_RUN,
    *THREE_VERSIONS,
    ("r", None, "Plan a trip to Lisbon"),
    ("veg", "r", "Make it vegetarian"),
    ("sintra", "veg", "Add a day in Sintra"),
    ("budget", "veg", "Now a budget version"),
    ("budget2", "budget", "Under 60 euros a day"),
    ("porto", "r", "Porto instead of Lisbon"),
    ("wine", "porto", "Which cellars take walk-ins?"),
]


def forest_app(tmp_path, script: Script):
    """An app over a fresh index holding `script`'s turns (no demo); their keys by name."""
    app, index, backend = build(tmp_path, demo=False)
    ids: dict[str, str] = {}

    async def create() -> None:
        async with make_client(LOCAL, {}, backend=backend) as client:
            for name, parent, text in script:
                plan = plan_turn(
                    index,
                    SERVER,
                    text=text,
                    parent=ids[parent] if parent else None,
                    default_model="offline-echo",
                )
                response = await client.create(plan.body)
                record(index, SERVER, "local", plan, response)
                ids[name] = response["id"]

    _run(create())
    return app, index, {name: (SERVER, rid) for name, rid in ids.items()}


def test_graph_fork_at_root(snap_compare, tmp_path):
    """The first turn has two replies: the graph splits right under it, `├─` and `└─`,
    each branch going on one level deeper (`│` beside the first while the second is to come)."""
    app, _index, keys = forest_app(tmp_path, FORK_AT_ROOT)

    async def run_before(pilot):
        await show_turn(pilot, keys["temples2"])

    assert snap_compare(app, terminal_size=(100, 24), run_before=run_before)


def test_graph_fork_in_mid_run(snap_compare, tmp_path):
    """Turns 1-3 on one rail, then turn 3 splits into two branches of two turns each."""
    app, _index, keys = forest_app(tmp_path, FORK_MID_RUN)

    async def run_before(pilot):
        await show_turn(pilot, keys["b5"])

    assert snap_compare(app, terminal_size=(100, 24), run_before=run_before)


def test_graph_fork_of_a_fork(snap_compare, tmp_path):
    """The first branch of a fork forks again: its branches nest a level deeper still, with
    the outer `│` kept beside them because the outer fork's second branch comes after."""
    app, _index, keys = forest_app(tmp_path, FORK_OF_FORK)

    async def run_before(pilot):
        await show_turn(pilot, keys["ab"])

    assert snap_compare(app, terminal_size=(100, 24), run_before=run_before)


def test_graph_long_run_folded(snap_compare, tmp_path):
    """A 30-turn run without forks: its first and last turn around `┊ 28 more turns`."""
    app, _index, keys = forest_app(tmp_path, LONG_RUN)

    async def run_before(pilot):
        await show_turn(pilot, keys["s30"])
        view = pilot.app.forest_view
        await wait_for(pilot, lambda: [row.kind for row in view.rows] == ["turn", "fold", "turn"])

    assert snap_compare(app, terminal_size=(100, 24), run_before=run_before)


def test_graph_sibling_place_2_of_3(snap_compare, tmp_path):
    """Three versions of the second turn, the cursor on the second: `1/3` `2/3` `3/3`."""
    app, _index, keys = forest_app(tmp_path, THREE_VERSIONS)

    async def run_before(pilot):
        await show_turn(pilot, keys["v2"])

    assert snap_compare(app, terminal_size=(100, 24), run_before=run_before)


def test_graph_titles_and_labels(snap_compare, tmp_path):
    """Two renamed conversations (one open, one closed) and two bookmarks, one with a word:
    the titles replace the first inputs, the bookmarks show `★ word` and `★`."""
    app, index, keys = forest_app(tmp_path, NAMED)
    index.set_title(*keys["n1"], "Cover letter")
    index.set_title(*keys["old"], "Tea")
    index.set_label(*keys["n3"], "python")
    index.set_label(*keys["n2"], "")

    async def run_before(pilot):
        await show_turn(pilot, keys["n3"])

    assert snap_compare(app, terminal_size=(100, 24), run_before=run_before)


def _rich_forest(tmp_path):
    app, index, keys = forest_app(tmp_path, RICH)
    index.set_title(*keys["r"], "Lisbon trip")
    index.set_label(*keys["sintra"], "favourite")

    async def run_before(pilot):
        # Open the long run and the three versions too, then put the cursor in the trip.
        for name in ("s30", "v2", "budget2"):
            await show_turn(pilot, keys[name])

    return app, run_before


def test_graph_rich_forest_80x24(snap_compare, tmp_path):
    app, run_before = _rich_forest(tmp_path)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_graph_rich_forest_160x50(snap_compare, tmp_path):
    app, run_before = _rich_forest(tmp_path)
    assert snap_compare(app, terminal_size=(160, 50), run_before=run_before)
