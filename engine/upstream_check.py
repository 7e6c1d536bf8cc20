"""The checks that a flows file uses only what gatehouse.yaml configures: each `federated` step's
`providers` must be among the upstream providers (federation/providers.py builds them), and each
`password` step's named `directory` among the `directories`."""

from __future__ import annotations

from collections.abc import Collection

from engine.loader import FlowSet
from steps import ChangePasswordStep, FederatedStep, PasswordStep, is_class_path


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


def check_directories(flows: FlowSet, directories: Collection[str]) -> None:
    """Raise ValueError unless every directory a `password` or `change_password` step names
    (not as a class) is among `directories`, the names of the configured ones."""
    for flow in flows.flows.values():
        for name, step in flow.steps.items():
            if isinstance(step, (PasswordStep, ChangePasswordStep)):
                wanted = step.settings.directory
                if wanted is not None and not is_class_path(wanted) and wanted not in directories:
                    raise ValueError(
                        f"flow {flow.name}, step {name}: no directory {wanted!r} in gatehouse.yaml"
                        f" (directories: {', '.join(directories) or 'none'})"
                    )
