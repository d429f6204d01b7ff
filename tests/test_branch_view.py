"""Issue 13 in the app: what the branch view tells about the turns below and around."""

from __future__ import annotations

import itertools

from ui_helpers import SERVER, build, goto, settle

from tui.store.index import Index

_ids = itertools.count(1)


def add(index: Index, said: str, parent: str | None = None) -> str:
    n = next(_ids)
    rid = f"resp_branchview{n:016d}"
    index.add_response(
        {
            "id": rid,
            "object": "response",
            "created_at": 1_700_000_000 + n,
            "status": "completed",
            "model": "m",
            "previous_response_id": parent,
            "output": [
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": f"answer to {said}"}],
                }
            ],
        },
        server=SERVER,
        profile="local",
        input_items=[
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": said}]}
        ],
    )
    return rid


def run(index: Index, *said: str, parent: str | None = None) -> list[str]:
    ids = []
    for text in said:
        parent = add(index, text, parent)
        ids.append(parent)
    return ids


async def test_the_note_below_counts_the_turns_after_the_highlighted_one(tmp_path):
    app, index, _ = build(tmp_path, demo=False)
    ids = run(index, "one", "two", "three", "four", "five")
    run(index, "left", parent=ids[-1])
    run(index, "right", parent=ids[-1])
    async with app.run_test(size=(110, 34)) as pilot:
        notes = {}
        for n in (0, 2, 3, 4):
            await goto(pilot, app, (SERVER, ids[n]))
            await settle(pilot, app)
            shown = [str(w.content) for w in app.transcript.query(".below")]
            notes[n] = shown[0] if shown else ""
        assert notes[0] == "↓ continues for 4 more turns in this branch, then ⑂ 2 branches"
        assert notes[2] == "↓ continues for 2 more turns in this branch, then ⑂ 2 branches"
        assert notes[3] == "↓ continues for 1 more turn in this branch, then ⑂ 2 branches"
        assert notes[4] == "⑂ 2 branches continue from here"
