"""Acceptance: `responses-tui serve` driven by the official openai SDK, as a user would."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import openai
import pytest


@pytest.fixture
def served(isolated_env):
    env = {**os.environ, "RESPONSES_TUI_HOME": str(isolated_env)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/v1", line)
        assert match, f"no address in {line!r}; stderr: {proc.stderr.read() if proc.poll() else ''}"
        yield match.group(0)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_openai_sdk_against_serve(served):
    client = openai.OpenAI(base_url=served, api_key="offline", max_retries=0)

    first = client.responses.create(model="offline-echo", input="Name three rivers.")
    assert first.id.startswith("resp_")
    assert "Offline" in first.output_text

    stream = client.responses.create(
        model="offline-echo", input="Stream please.", previous_response_id=first.id, stream=True
    )
    kinds, deltas, final = [], [], None
    for event in stream:
        kinds.append(event.type)
        if event.type == "response.output_text.delta":
            deltas.append(event.delta)
        if event.type == "response.completed":
            final = event.response
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert final is not None and "".join(deltas) == final.output_text

    again = client.responses.retrieve(final.id)
    assert again.previous_response_id == first.id
    items = client.responses.input_items.list(final.id)
    assert [i.content[0].text for i in items.data] == ["Stream please."]

    unstored = client.responses.create(model="offline-echo", input="forget me", store=False)
    client.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(first.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.create(
            model="offline-echo", input="more", previous_response_id=unstored.id
        )
