"""Fan out: send the same input N times at once, as siblings, each run with its own model and
temperature, a few at a time. The app's `F` and the CLI's `send --fan-out` both use this.

Plans are built with `plan_sibling` (the input a turn was sent with, again: N regenerations)
or `plan_turn` (a new message: N replies to one turn), then each run's settings are set on its
body. `run_fanout` sends them with at most `CONCURRENCY` streams open at once; each one is
recorded as `send_turn` records any turn (as soon as the server creates it), and a run that
fails is reported with its number and reason while the others go on.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tui.api.accumulate import StreamAccumulator
from tui.api.client import ResponsesClient
from tui.api.errors import ApiError
from tui.api.events import StreamEvent
from tui.ops.conversation import (
    TurnPlan,
    TurnResult,
    failure_message,
    plan_sibling,
    plan_turn,
    send_turn,
    settings_of,
)
from tui.store.index import Index
from tui.store.records import NodeSummary
from tui.text import one_line

MIN_RUNS, MAX_RUNS = 2, 8
CONCURRENCY = 3  # streams open at once
TEMPERATURE_RANGE = (0.0, 2.0)
MODEL_CHARS = 200  # a model name longer than this is a typo (or a paste gone wrong)
LINE_CHARS = 300  # what one reported line of a run may take


@dataclass(frozen=True, slots=True)
class RunSettings:
    """What one run sends differently: its model, and its temperature (None: none is sent,
    the server's default applies)."""

    model: str
    temperature: float | None = None


def parse_runs(count: str | int) -> int:
    """How many runs: a whole number from MIN_RUNS to MAX_RUNS, else ValueError."""
    try:
        n = int(str(count).strip())
    except ValueError:
        raise ValueError(f"must be a whole number from {MIN_RUNS} to {MAX_RUNS}") from None
    if not MIN_RUNS <= n <= MAX_RUNS:
        raise ValueError(f"must be from {MIN_RUNS} to {MAX_RUNS}")
    return n


def parse_temperature(text: str) -> float | None:
    """A temperature as typed: empty is None (not sent), else a number in TEMPERATURE_RANGE."""
    text = text.strip()
    if not text:
        return None
    low, high = TEMPERATURE_RANGE
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"not a number: {one_line(text, 20)!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"must be between {low:g} and {high:g}")
    return value


def parse_model(text: str) -> str:
    model = text.strip()
    if not model:
        raise ValueError("type a model name")
    if len(model) > MODEL_CHARS or any(c.isspace() for c in model):
        raise ValueError(f"not a model name (no spaces, at most {MODEL_CHARS} characters)")
    return model


def validate_runs(rows: Sequence[tuple[str, str]]) -> tuple[list[RunSettings], str]:
    """The runs from (model, temperature) as typed, one row per run, and the first problem
    as one line naming its run and field ("run 2: temperature: must be between 0 and 2"),
    or "" when every row is good."""
    runs: list[RunSettings] = []
    for n, (model_text, temperature_text) in enumerate(rows[:MAX_RUNS], start=1):
        try:
            model = parse_model(model_text)
        except ValueError as error:
            return [], f"run {n}: model: {error}"
        try:
            temperature = parse_temperature(temperature_text)
        except ValueError as error:
            return [], f"run {n}: temperature: {error}"
        runs.append(RunSettings(model, temperature))
    return runs, ""


def spread(values: Sequence[str], runs: int, what: str) -> list[str]:
    """A comma list from the command line over `runs` runs: one value goes to every run,
    exactly `runs` values go one to each; any other count is an error (ValueError), never a
    guess."""
    if len(values) == 1:
        return list(values) * runs
    if len(values) != runs:
        raise ValueError(
            f"{what} gives {len(values)} values for {runs} runs: give one (for every run) "
            f"or {runs}, separated by commas"
        )
    return list(values)


def apply_settings(plan: TurnPlan, run: RunSettings) -> TurnPlan:
    """Set one run's model and temperature on its plan (what is recorded follows, so later
    replies to that run inherit them)."""
    plan.body["model"] = run.model
    if run.temperature is None:
        plan.body.pop("temperature", None)
    else:
        plan.body["temperature"] = run.temperature
    return plan


def sibling_plans(
    index: Index,
    server: str,
    node_id: str,
    runs: Sequence[RunSettings],
    *,
    default_model: str,
) -> list[TurnPlan]:
    """N siblings of `node_id` sent with its own input (N regenerations, each with its run's
    settings). CannotSend when the input was not recorded."""
    return [
        apply_settings(
            plan_sibling(index, server, node_id, text=None, default_model=default_model), run
        )
        for run in runs[:MAX_RUNS]
    ]


def reply_plans(
    index: Index,
    server: str,
    parent_id: str,
    text: str,
    runs: Sequence[RunSettings],
    *,
    default_model: str,
) -> list[TurnPlan]:
    """N replies to `parent_id` with the same new message: siblings of one another."""
    return [
        apply_settings(
            plan_turn(index, server, text=text, parent=parent_id, default_model=default_model),
            run,
        )
        for run in runs[:MAX_RUNS]
    ]


def _temperature(value: Any) -> float | None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if number else None


def run_settings(plan: TurnPlan) -> RunSettings:
    """The settings a plan carries."""
    return RunSettings(plan.model, _temperature(plan.body.get("temperature")))


def own_settings(index: Index, server: str, node_id: str, *, default_model: str) -> RunSettings:
    """The model and temperature a fan-out from `node_id` starts from (the form's fields, the
    CLI's defaults): its own, as its siblings and its replies would inherit them."""
    inherited = settings_of(index, server, node_id)
    model = inherited.get("model")
    return RunSettings(
        model if isinstance(model, str) and model else default_model,
        _temperature(inherited.get("temperature")),
    )


@dataclass
class RunResult:
    """How one run of a fan-out ended: the turn it created (if any) and the error (if any)."""

    run: int  # 1-based, in the order the runs were given
    plan: TurnPlan
    result: TurnResult | None = None
    error: str = ""  # one line; "" when the run succeeded

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def created(self) -> str | None:
        """The id of the turn recorded for this run (a failed run may still have one: the
        partial answer of a broken stream)."""
        summary = self.result.summary if self.result is not None else None
        return summary.id if summary is not None else None

    def line(self) -> str:
        """The run as one line: `run 2 · model · T 0.7: resp_…` or `…: failed: why`."""
        settings = run_settings(self.plan)
        head = f"run {self.run} · {one_line(settings.model, 60)}"
        if settings.temperature is not None:
            head += f" · T {settings.temperature:g}"
        if self.ok:
            return f"{head}: {self.created}"
        summary = self.result.summary if self.result is not None else None
        kept = f" ({summary.id} kept, marked {summary.status})" if summary is not None else ""
        return one_line(f"{head}: failed{kept}: {self.error}", LINE_CHARS)


async def run_fanout(
    client: ResponsesClient,
    index: Index,
    plans: Sequence[TurnPlan],
    *,
    server: str,
    profile: str,
    concurrency: int = CONCURRENCY,
    env: Mapping[str, str] | None = None,
    on_created: Callable[[int, NodeSummary], Any] | None = None,
    on_event: Callable[[int, StreamEvent, StreamAccumulator], Any] | None = None,
    on_done: Callable[[RunResult], Any] | None = None,
) -> list[RunResult]:
    """Send every plan, at most `concurrency` at once; one RunResult per plan, in their order.
    A run that fails (the server refused it, the stream broke, even a bug) is reported with
    its reason and the others go on. `on_created(run, summary)` when the server has created a
    run's turn (it is in the index then), `on_event(run, event, accumulator)` for each event
    of its stream (after `on_created` for its `response.created`; the accumulator holds the
    run's text so far), `on_done(result)` when a run has ended.
    Cancelling cancels every run (each keeps its partial answer, as `send_turn` does)."""
    gate = asyncio.Semaphore(max(1, concurrency))
    results = [RunResult(n, plan) for n, plan in enumerate(plans[:MAX_RUNS], start=1)]

    async def one(outcome: RunResult) -> None:
        def created(summary: NodeSummary) -> None:
            if on_created is not None:
                on_created(outcome.run, summary)

        async def event(streamed: StreamEvent, acc: StreamAccumulator) -> None:
            if on_event is not None:
                said = on_event(outcome.run, streamed, acc)
                if asyncio.iscoroutine(said):
                    await said

        async with gate:
            try:
                result = await send_turn(
                    client,
                    index,
                    outcome.plan,
                    server=server,
                    profile=profile,
                    on_created=created,
                    on_event=event,
                    env=env,
                )
            except ApiError as error:
                outcome.error = one_line(str(error), LINE_CHARS)
            except Exception as error:  # one run's bug must not take the others with it
                outcome.error = one_line(f"{type(error).__name__}: {error}", LINE_CHARS)
            else:
                outcome.result = result
                if result.error is not None:
                    said = failure_message(outcome.plan, result.error)
                    outcome.error = one_line(said, LINE_CHARS)
                elif result.summary is None:
                    outcome.error = "nothing came back"
        if on_done is not None:
            on_done(outcome)

    await asyncio.gather(*(one(outcome) for outcome in results))
    return results
