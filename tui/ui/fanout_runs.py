"""A fan-out's runs while they stream (`F`, tui/ops/fanout.py): the turn each run made, what
each has said so far, and which one the transcript shows live.

The conversation pane owns the fan-out; this is its bookkeeping, kept apart so the pane's
code reads as what it does: when the cursor rests on a run that is still streaming, the
transcript shows that run's path with a live turn holding its text so far, and every
further delta of that run (and of no other) goes into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.api import items
from tui.api.accumulate import StreamAccumulator
from tui.api.events import StreamEvent, TextDelta
from tui.ops.conversation import TurnPlan

Key = tuple[str, str]


@dataclass
class LiveRun:
    run: int  # 1-based, as the form numbered it
    of: int  # how many runs the fan-out has
    plan: TurnPlan
    key: Key
    acc: StreamAccumulator | None = None  # its stream so far (send_turn's accumulator)

    @property
    def text(self) -> str:
        """Every text delta so far, in order (what the live turn shows)."""
        return self.acc.text if self.acc is not None else ""

    @property
    def user_text(self) -> str:
        return items.input_text(self.plan.input_items)

    @property
    def target(self) -> str:
        """The live turn's head: which run, and the model it was sent to."""
        return f"run {self.run} of {self.of} · {self.plan.model}"


@dataclass
class FanoutRuns:
    plans: list[TurnPlan] = field(default_factory=list)
    live: dict[Key, LiveRun] = field(default_factory=dict)  # the runs streaming now
    made: list[Key] = field(default_factory=list)  # every turn the fan-out made, in order
    shown: Key | None = None  # the run the transcript shows live

    @property
    def running(self) -> bool:
        return bool(self.plans)

    def start(self, plans: list[TurnPlan]) -> None:
        self.plans = list(plans)
        self.live.clear()
        self.made.clear()
        self.shown = None

    def created(self, run: int, key: Key) -> bool:
        """Run `run` made the turn `key`: True when it is the first of the fan-out."""
        plan = self.plans[run - 1]
        self.live[key] = LiveRun(run, len(self.plans), plan, key)
        self.made.append(key)
        return len(self.made) == 1

    def key_of(self, run: int) -> Key | None:
        for live in self.live.values():
            if live.run == run:
                return live.key
        return None

    def event(self, run: int, event: StreamEvent, acc: StreamAccumulator) -> str:
        """An event of run `run`: the text to add to the transcript's live turn ("" when
        there is none, or when that run is not the one shown)."""
        key = self.key_of(run)
        if key is None:
            return ""  # not created yet (nothing to show before the server made the turn)
        self.live[key].acc = acc
        if key == self.shown and isinstance(event, TextDelta):
            return event.delta
        return ""

    def ended(self, key: Key) -> bool:
        """The run that made `key` ended: True when the transcript showed it live."""
        self.live.pop(key, None)
        if self.shown == key:
            self.shown = None
            return True
        return False

    def finish(self) -> None:
        self.plans = []
        self.live.clear()
        self.shown = None
