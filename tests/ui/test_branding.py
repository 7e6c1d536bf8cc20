"""What a page shows of the client."""

from __future__ import annotations

from store.records import ClientRecord
from ui.pages import branding


def test_branding_uses_client_metadata() -> None:
    client = ClientRecord(client_id="app", client_name="App", logo_uri="https://app.example/l.png",
                          policy_uri="https://app.example/p", tos_uri="https://app.example/t")
    assert branding(client) == {"name": "App", "logo_uri": "https://app.example/l.png",
                                "policy_uri": "https://app.example/p", "tos_uri": "https://app.example/t"}


def test_only_https_logos_are_shown_and_the_id_stands_in_for_a_missing_name() -> None:
    for logo in ("http://app.example/l.png", "javascript:alert(1)", "data:image/png;base64,AA"):
        shown = branding(ClientRecord(client_id="app", logo_uri=logo))
        assert shown["logo_uri"] is None and shown["name"] == "app"
    assert branding(None) == {}
