"""The check that a flows file offers only the configured upstream providers: each `federated`
step's `providers` must be among them (federation/providers.py builds them from the config)."""

from __future__ import annotations

from collections.abc import Mapping

from engine.loader import FlowSet
from federation.upstream import Upstream
from steps.federated import FederatedStep


def check_offered(flows: FlowSet, upstreams: Mapping[str, Upstream]) -> None:
    """Raise ValueError unless every provider a `federated` step offers is configured."""
    for flow in flows.flows.values():
        for name, step in flow.steps.items():
            if isinstance(step, FederatedStep):
                where = f"flow {flow.name}, step {name}"
                if not upstreams:
                    raise ValueError(f"{where}: a federated step needs upstream_providers")
                unknown = sorted(set(step.settings.providers or ()) - set(upstreams))
                if unknown:
                    raise ValueError(
                        f"{where}: no upstream provider {', '.join(unknown)}"
                        f" (upstream_providers: {', '.join(upstreams)})"
                    )
