"""The flow language: models of flows.yaml, loading and checks, compiling to state machines, runs.

The room's face: other rooms import only the names in `__all__`, from here.
"""

from __future__ import annotations

from engine.assurance import ACR_BY_FACTORS, ACR_VALUES_SUPPORTED, assess
from engine.diagram import UnknownFlow, render_dot, render_mermaid
from engine.loader import FlowsError, FlowSet, load_flows, load_flows_text
from engine.runs import FlowEngine, Seed
from engine.sign_in_request import Display, Finish, Prompt, SignInRequest
from engine.testing import FlowTester
from engine.upstream_check import check_directories, check_offered
from engine.yaml_source import YamlSourceError, parse_yaml, pydantic_problems
from steps import SCOPE_DESCRIPTIONS, BrowserFacts, Throttle  # for the protocol's own pages

__all__ = [
    "BrowserFacts",
    "ACR_BY_FACTORS",
    "ACR_VALUES_SUPPORTED",
    "Display",
    "Finish",
    "FlowEngine",
    "FlowTester",
    "FlowsError",
    "Prompt",
    "SCOPE_DESCRIPTIONS",
    "Seed",
    "SignInRequest",
    "Throttle",
    "UnknownFlow",
    "YamlSourceError",
    "assess",
    "check_directories",
    "check_offered",
    "FlowSet",
    "load_flows",
    "load_flows_text",
    "parse_yaml",
    "pydantic_problems",
    "render_dot",
    "render_mermaid",
]
