"""The conversations Voicebank can have, each a flow of questions."""

from __future__ import annotations

from collections.abc import Mapping

from bot.actions.flows import SurgeryFlow
from bot.conversation import Flow
from bot.elections.flows import StandFlow, VoteFlow
from bot.flows.idea import IdeaFlow
from bot.flows.menu import MenuFlow
from bot.surveys.flow import SurveyFlow


def standard_flows() -> Mapping[str, Flow]:
    """Every flow by name; the engine is given this mapping, so tests can give another."""
    # The survey, stand and vote flows here offer nothing; the engine gives each turn ones
    # with what the person who wrote may answer, stand in and vote in.
    flows: list[Flow] = [MenuFlow(), IdeaFlow(), SurveyFlow(surveys={}, language="en"),
                         StandFlow(), VoteFlow(papers=[]), SurgeryFlow()]
    by_name: dict[str, Flow] = {}
    for flow in flows:
        if flow.name in by_name:
            raise ValueError(f"two flows are called {flow.name!r}")
        by_name[flow.name] = flow
    return by_name
