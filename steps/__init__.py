"""Step types: one module each, behind the interface in `steps.base`.

The room's face: other rooms import only the names in `__all__`, from here.
"""

from __future__ import annotations

from steps.base import (
    NOTICE,
    BrowserFacts,
    Outcome,
    Page,
    Redirect,
    RelyingParty,
    Services,
    Step,
    StepContext,
)
from steps.change_password import ChangePasswordStep
from steps.consent_texts import SCOPE_DESCRIPTIONS
from steps.credentials import CredentialKind, credential_kinds
from steps.directory_answers import local_record
from steps.dotted import NotLoadable, load_class
from steps.federated import VIA, FederatedStep, run_id_of
from steps.password import PasswordStep
from steps.password_formats import format_of
from steps.password_hashing import PasswordHashing
from steps.password_policy import PasswordPolicy, password_problem
from steps.recovery_codes import KIND
from steps.registry import UnknownStepType, resolve_step_type
from steps.subflow import SubflowStep
from steps.throttling import Throttle, unlock
from steps.user_directory import is_class_path, local_user_id

__all__ = [
    "BrowserFacts",
    "ChangePasswordStep",
    "CredentialKind",
    "FederatedStep",
    "KIND",
    "NOTICE",
    "NotLoadable",
    "Outcome",
    "Page",
    "PasswordHashing",
    "PasswordPolicy",
    "PasswordStep",
    "Redirect",
    "RelyingParty",
    "SCOPE_DESCRIPTIONS",
    "Services",
    "Step",
    "StepContext",
    "SubflowStep",
    "Throttle",
    "UnknownStepType",
    "VIA",
    "credential_kinds",
    "format_of",
    "is_class_path",
    "load_class",
    "local_record",
    "local_user_id",
    "password_problem",
    "resolve_step_type",
    "run_id_of",
    "unlock",
]
