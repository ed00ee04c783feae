"""The conversations Voicebank can have, each a flow of questions."""

from __future__ import annotations

from collections.abc import Mapping

from bot.conversation import Flow
from bot.flows.idea import IdeaFlow
from bot.flows.menu import MenuFlow


def standard_flows() -> Mapping[str, Flow]:
    """Every flow by name; the engine is given this mapping, so tests can give another."""
    flows: list[Flow] = [MenuFlow(), IdeaFlow()]
    by_name: dict[str, Flow] = {}
    for flow in flows:
        if flow.name in by_name:
            raise ValueError(f"two flows are called {flow.name!r}")
        by_name[flow.name] = flow
    return by_name
