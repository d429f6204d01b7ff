"""How many examples a property test draws: its full number in the suite, fewer while mutmut
runs it once per mutant (scripts/mutation, README "Testing")."""

from __future__ import annotations

import os

UNDER_MUTATION = "MUTANT_UNDER_TEST" in os.environ


def examples(n: int) -> int:
    return min(n, 25) if UNDER_MUTATION else n
