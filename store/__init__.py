"""Persistence behind typed repository protocols.

`open_store(url)` returns a `Store` for a URL: `sqlite:///path/to/file.db` (the embedded default)
or `sqlite://:memory:`.

The room's face: other rooms import only the names in `__all__`, from here.
"""

from __future__ import annotations

from store.consents import consent_items, missing_consent, needing_consent, remember_consent
from store.errors import DuplicateError, StaleVersionError, StoreUnavailableError
from store.records import (
    DIRECTORY_ID_PREFIX,
    AccessTokenRecord,
    AuditRecord,
    AuthEvent,
    ClientRecord,
    CodeRecord,
    ConsentRecord,
    CredentialRecord,
    DeviceApproval,
    DeviceCodeRecord,
    Factor,
    FlowRunRecord,
    Frame,
    GrantRecord,
    InitialAccessTokenRecord,
    LinkedIdentityRecord,
    PushedRequestRecord,
    RefreshTokenRecord,
    RememberDevice,
    RunLogRecord,
    SessionRecord,
    SigningKeyRecord,
    ThrottleRecord,
    TokenExchangePolicy,
    UserRecord,
)
from store.repositories import Cursor, Store
from store.sealing import Sealer, SealError
from store.sign_in_request import Display, Finish, Prompt, SignInRequest
from store.transfer import ImportReport, export_lines, import_lines
from store.url import is_process_local, open_store
from store.user_import import FileFormat, import_users

__all__ = [
    "AccessTokenRecord",
    "AuditRecord",
    "AuthEvent",
    "ClientRecord",
    "CodeRecord",
    "ConsentRecord",
    "CredentialRecord",
    "Cursor",
    "DIRECTORY_ID_PREFIX",
    "DeviceApproval",
    "DeviceCodeRecord",
    "Display",
    "DuplicateError",
    "Factor",
    "FileFormat",
    "Finish",
    "FlowRunRecord",
    "Frame",
    "GrantRecord",
    "ImportReport",
    "InitialAccessTokenRecord",
    "LinkedIdentityRecord",
    "Prompt",
    "PushedRequestRecord",
    "RefreshTokenRecord",
    "RememberDevice",
    "RunLogRecord",
    "SealError",
    "Sealer",
    "SessionRecord",
    "SignInRequest",
    "SigningKeyRecord",
    "StaleVersionError",
    "Store",
    "StoreUnavailableError",
    "ThrottleRecord",
    "TokenExchangePolicy",
    "UserRecord",
    "consent_items",
    "export_lines",
    "import_lines",
    "import_users",
    "is_process_local",
    "missing_consent",
    "needing_consent",
    "open_store",
    "remember_consent",
]
