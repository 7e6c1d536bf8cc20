"""`NoOptions`: the settings model of a plug-in (a step type, a user directory) that takes none."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class NoOptions(BaseModel):
    """For plug-ins without settings: any key in `options:` is an error."""

    model_config = ConfigDict(extra="forbid")
