"""The flow language: models of flows.yaml, loading and checks, compiling to state machines, runs."""

from __future__ import annotations

from steps.base import BrowserFacts

__all__ = ["BrowserFacts"]
