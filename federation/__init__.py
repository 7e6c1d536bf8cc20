"""Federation: Gatehouse as a relying party of upstream OpenID providers ("Sign in with ...").

The room's face: other rooms import only the names in `__all__`, from here.
"""

from __future__ import annotations

from federation.config import UpstreamProviderSettings, on_this_machine
from federation.directory import DirectoryUnavailable, DirectoryUser, UserDirectory
from federation.providers import upstreams_for
from federation.upstream import Attempt, Upstream, UpstreamError, UpstreamIdentity

__all__ = [
    "Attempt",
    "DirectoryUnavailable",
    "DirectoryUser",
    "Upstream",
    "UpstreamError",
    "UpstreamIdentity",
    "UpstreamProviderSettings",
    "UserDirectory",
    "on_this_machine",
    "upstreams_for",
]
