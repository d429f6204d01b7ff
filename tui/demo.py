"""A small branched example for a first look (`responses-tui --demo`) and the screenshots.

It is created through the offline backend like any other conversation, so every node is
real: it can be replied to, forked, exported and deleted.
"""

from __future__ import annotations

from tui.api.profiles import Profile
from tui.local.server import OfflineBackend
from tui.ops.connect import make_client, server_id
from tui.ops.conversation import plan_turn, record
from tui.store.index import Index

FIRST = "Plan a three-day trip to Lisbon for someone who loves food and old trams."

# (label, parent label or None, text, extra request fields)
SCRIPT: list[tuple[str, str | None, str, dict]] = [
    ("trip", None, FIRST, {"instructions": "Be concise and practical."}),
    ("veg", "trip", "Make it vegetarian-friendly.", {}),
    ("sintra", "veg", "Add a day trip to Sintra on day two.", {}),
    ("budget", "veg", "Now a budget version: under 60 euros a day.", {}),
    ("porto", "trip", "Actually, make it Porto instead of Lisbon.", {}),
    ("wine", "porto", "Which port wine cellars take walk-ins?", {}),
    ("gil", None, "Explain Python's GIL in two short paragraphs.", {}),
    ("gil2", "gil", "Show a tiny example where threads do not speed things up.", {}),
    (
        "docs",
        None,
        "Search the Textual docs for how MarkdownStream works.",
        {
            "tools": [
                {
                    "type": "mcp",
                    "server_label": "docs",
                    "server_url": "https://mcp.example.com/sse",
                    "require_approval": "never",
                }
            ]
        },
    ),
    ("private", None, "A quick question I do not want stored on the server.", {"store": False}),
]


DEMO_PRESETS = [
    {
        "name": "docs (offline demo)",
        "tool": {
            "type": "mcp",
            "server_label": "docs",
            "server_url": "https://mcp.example.com/sse",
            "require_approval": "never",
        },
    },
    {
        "name": "ops (asks first)",
        "tool": {
            "type": "mcp",
            "server_label": "ops",
            "server_url": "https://ops.example.com/mcp",
            "require_approval": "always",
        },
    },
    {
        "name": "weather",
        "tool": {
            "type": "function",
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    },
]


async def seed_demo(
    index: Index,
    profile: Profile,
    *,
    backend: OfflineBackend | None = None,
    with_presets: bool = True,
) -> int:
    """Create the demo conversations (and a few tool presets, if there are none yet) unless
    they are already there. Returns how many responses were created."""
    server = server_id(profile)
    if with_presets and not index.presets():
        for preset in DEMO_PRESETS:
            index.save_preset(preset)
    if any(n.input_preview.startswith(FIRST[:40]) for n in index.nodes(server)):
        return 0
    ids: dict[str, str] = {}
    async with make_client(profile, {}, backend=backend) as client:
        for label, parent, text, extra in SCRIPT:
            store = extra.get("store", True)
            overrides = {k: v for k, v in extra.items() if k != "store"}
            plan = plan_turn(
                index,
                server,
                text=text,
                parent=ids.get(parent) if parent else None,
                default_model=profile.default_model or "offline-echo",
                store=store,
                overrides=overrides,
            )
            response = await client.create(plan.body)
            record(index, server, profile.name, plan, response)
            ids[label] = response["id"]
    return len(SCRIPT)
