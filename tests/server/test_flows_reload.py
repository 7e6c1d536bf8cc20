"""Reloading flows.yaml keeps the flows in use when the new file offers an upstream provider the
config lacks (as start-up refuses it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core import OutboundHttp
from engine.loader import FlowSet
from federation.config import UpstreamProviderSettings
from federation.providers import upstreams_for
from federation.upstream import Upstream
from server.flows_reload import FlowsReloader
from store import open_store

PASSWORD_FLOW = "flows:\n  default:\n    steps:\n      p: {type: password, on: {success: done}}\n"
FEDERATED_FLOW = (
    "flows:\n  default:\n    steps:\n      up:\n        type: federated\n"
    "        options: {providers: [%s]}\n        on: {success: done, link: done}\n"
)


@dataclass
class Services:
    upstreams: dict[str, Upstream]
    directories: dict[str, object] = field(default_factory=dict)


@dataclass
class Engine:
    services: Services
    loaded: list[FlowSet] = field(default_factory=list)

    def reload(self, flows: FlowSet) -> None:
        self.loaded.append(flows)


async def test_a_reload_offering_an_unknown_provider_keeps_the_flows_in_use(tmp_path: Path) -> None:
    corp = UpstreamProviderSettings(id="corp", name="Corp", issuer="https://corp.example",
                                    client_id="gh", client_secret="s")
    engine = Engine(Services(upstreams_for("https://login.example", [corp], OutboundHttp())))
    path = tmp_path / "flows.yaml"
    path.write_text(PASSWORD_FLOW)
    store = await open_store("sqlite://:memory:")
    try:
        reloader = FlowsReloader(engine, path, store)  # type: ignore[arg-type]
        path.write_text(FEDERATED_FLOW % "elsewhere")
        assert await reloader.check() is False and engine.loaded == []
        path.write_text(FEDERATED_FLOW % "corp")
        assert await reloader.check() is True
        assert "default" in engine.loaded[0].flows
    finally:
        await store.close()
