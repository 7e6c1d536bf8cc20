"""pydantic models of `flows.yaml`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Where a run can end. `done`: the user is authenticated; `deny`: the client gets access_denied;
# `error`: the person sees an error page and the client hears nothing.
TERMINALS = frozenset({"done", "deny", "error"})

# A condition as written: a name (`login_hint`), or a one-key mapping from a name to its argument
# (`has_credential: totp`, `all: [...]`, `not: {...}`). engine/conditions.py gives them meaning.
RawCondition = str | dict[str, Any]


class Branch(BaseModel):
    """One way an outcome can lead: to a step or terminal, when `if` holds (always without it)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    to: str = Field(description="The next step, or `done`, `deny`, `error`.")
    when: RawCondition | None = Field(None, alias="if", description="A condition.")
    message: str | None = Field(
        None, description="For `deny` and `error`: what the person is told."
    )


Wiring = str | Branch | list[Branch]


class StepSpec(BaseModel):
    """One step of a flow: its type, its options, and where each outcome leads."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="A built-in step type, or package.module:ClassName.")
    options: dict[str, Any] = Field(default_factory=dict, description="Checked by the step type.")
    on: dict[str, Wiring] = Field(
        default_factory=dict,
        description="outcome -> next step (or terminal), or a list of `{to, if}` branches.",
    )

    def branches(self, outcome: str) -> list[Branch]:
        """The branches of `outcome` in order (a plain target is one unconditional branch)."""
        wiring = self.on[outcome]
        if isinstance(wiring, str):
            return [Branch.model_validate({"to": wiring})]
        return [wiring] if isinstance(wiring, Branch) else list(wiring)

    def targets(self) -> set[str]:
        return {branch.to for outcome in self.on for branch in self.branches(outcome)}


class FlowSpec(BaseModel):
    """A named journey: steps, and the one it starts at (the first, unless `start` says)."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    start: str | None = None
    steps: dict[str, StepSpec] = Field(min_length=1)

    @property
    def start_step(self) -> str:
        return self.start or next(iter(self.steps))


AccountAction = Literal[
    "add-passkey", "set-up-totp", "new-recovery-codes", "change-password", "link-account"
]


class FlowsFile(BaseModel):
    """The whole `flows.yaml`."""

    model_config = ConfigDict(extra="forbid")

    default_flow: str = Field("default", description="The flow for clients that name none.")
    registration_flow: str | None = Field(
        None, description="The flow for `prompt=create` (sign-up)."
    )
    acr_flows: dict[str, str] = Field(
        default_factory=dict,
        description="acr value -> flow, for requests whose `acr_values` ask for that level.",
    )
    reset_link_flow: str | None = Field(
        None,
        description="The flow a password-reset link runs (links that operators send from the"
        " admin console, API or CLI), on the account of the person it was sent to. Without"
        " one, no link can be sent.",
    )
    account_flows: dict[AccountAction, str] = Field(
        default_factory=dict,
        description="Account page action -> flow: what runs when a signed-in user adds a"
        " passkey, sets up an authenticator app, gets new recovery codes or changes their"
        " password. An action without a flow is not offered.",
    )
    flows: dict[str, FlowSpec] = Field(min_length=1)
