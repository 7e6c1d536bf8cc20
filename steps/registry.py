"""Maps `type:` names to step classes: the built-ins, and third-party steps by dotted path."""

from __future__ import annotations

from steps.base import Step
from steps.change_password import ChangePasswordStep
from steps.choose import ChooseStep
from steps.consent import ConsentStep
from steps.decide import DecideStep
from steps.dotted import NotLoadable, load_class
from steps.federated import FederatedStep
from steps.identify import IdentifyStep
from steps.passkey import PasskeyStep
from steps.passkey_setup import PasskeySetupStep
from steps.password import PasswordStep
from steps.recovery_code import RecoveryCodeStep
from steps.recovery_codes_setup import RecoveryCodesSetupStep
from steps.register import RegisterStep
from steps.remember_device import RememberDeviceStep
from steps.reset_password import ResetPasswordStep
from steps.subflow import SubflowStep
from steps.terms import TermsStep
from steps.totp import TotpStep
from steps.totp_setup import TotpSetupStep
from steps.verify_email import VerifyEmailStep

BUILTIN_STEPS: dict[str, type[Step]] = {
    cls.type: cls
    for cls in (
        IdentifyStep, PasswordStep, SubflowStep, DecideStep, ConsentStep, TermsStep, ChooseStep,
        RegisterStep, VerifyEmailStep, ResetPasswordStep, TotpSetupStep, TotpStep,
        RecoveryCodesSetupStep, RecoveryCodeStep,
        PasskeyStep, PasskeySetupStep, RememberDeviceStep, ChangePasswordStep, FederatedStep,
    )
}


class UnknownStepType(LookupError):
    pass


def resolve_step_type(name: str) -> type[Step]:
    """The class for a `type:` value: a built-in name, or `package.module:ClassName`."""
    if name in BUILTIN_STEPS:
        return BUILTIN_STEPS[name]
    if ":" not in name:
        raise UnknownStepType(
            f"unknown step type {name!r} (built-in: {', '.join(sorted(BUILTIN_STEPS))};"
            " a custom step is named as package.module:ClassName)"
        )
    try:
        found = load_class(name, Step, "step type")
    except NotLoadable as exc:
        raise UnknownStepType(str(exc)) from exc
    if not isinstance(getattr(found, "type", None), str) or not hasattr(found, "template"):
        raise UnknownStepType(f"{name!r} is not a complete step: it needs `type` and `template`")
    return found
