"""The check that a flows file offers only the configured upstream providers: each `federated`
step's `providers` must be among them (federation/providers.py builds them from the config)."""

from __future__ import annotations

from collections.abc import Collection

from engine.loader import FlowSet
from steps import FederatedStep


def check_offered(flows: FlowSet, upstreams: Collection[str]) -> None:
    """Raise ValueError unless every provider a `federated` step offers is among `upstreams`,
    the names of the configured ones."""
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
