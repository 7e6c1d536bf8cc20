"""What every room uses, importing no other room: the message marker `N_`, digests of secrets and
their constant-time comparison, the guarded outbound HTTP client, the error page type and the
settings model of plug-ins without settings.

The room's face: other rooms import only the names in `__all__`, from here.
"""

from __future__ import annotations

from core.address_limits import AddressLimit, network_of, whole_seconds
from core.digests import digest, same_secret
from core.error_page import ErrorPage
from core.messages import N_
from core.options import NoOptions
from core.outbound import GuardedTransport, OutboundHttp, OutboundRefused, OutboundResponse
from core.user_agents import Device, describe_device

__all__ = [
    "AddressLimit",
    "Device",
    "ErrorPage",
    "GuardedTransport",
    "N_",
    "NoOptions",
    "OutboundHttp",
    "OutboundRefused",
    "OutboundResponse",
    "describe_device",
    "digest",
    "network_of",
    "same_secret",
    "whole_seconds",
]
