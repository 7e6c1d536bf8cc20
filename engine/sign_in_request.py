"""The engine's typed, protocol-neutral sign-in request: what a run serves, and how it finishes.

Ways in (the authorize endpoint, the account page, later a device or a pushed request) map their
own request onto a `SignInRequest`; flow selection, conditions and steps read its fields. The
models are defined in `store.sign_in_request`, below the engine and the steps, because a run is a
stored document that holds one; take them from here.
"""

from __future__ import annotations

from store import Display, Finish, Prompt, SignInRequest

__all__ = ["Display", "Finish", "Prompt", "SignInRequest"]
