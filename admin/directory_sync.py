"""`gatehouse users sync DIRECTORY`: a local record for everyone a user directory would sign in,
made ahead of their first sign-in (so that an administrator can add them to groups here, give
them consents, or find them in the console), or refreshed from the directory. The same records
that a sign-in makes (steps: `local_record`); a local account that holds a person's username
keeps it, and that person is counted as refused."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from admin.actors import Actor, Conflict, NotFound, Unavailable
from federation import DirectoryUnavailable
from observe import audit
from oidc import Provider
from steps import local_record, local_user_id


@dataclass
class SyncReport:
    listed: int = 0
    created: int = 0
    refreshed: int = 0
    refused: int = 0


async def sync_directory(provider: Provider, actor: Actor, name: str) -> SyncReport:
    directory = provider.engine.services.directories.get(name)
    if directory is None:
        raise NotFound(f"no directory {name!r} in gatehouse.yaml")
    store, report = provider.store, SyncReport()
    try:
        async for page in directory.people():
            for person in page:
                report.listed += 1
                known = await store.users.get(local_user_id(name, person.id)) is not None
                if await local_record(store, provider.clock(), name, person) is None:
                    report.refused += 1
                elif known:
                    report.refreshed += 1
                else:
                    report.created += 1
    except NotImplementedError as exc:
        raise Conflict(f"directory {name!r} cannot list its people") from exc
    except DirectoryUnavailable as exc:
        raise Unavailable(f"directory {name!r} cannot answer: {exc}") from exc
    await audit(store, "directory_synced", client_id=actor.client_id, by=actor.label,
                directory=name, **asdict(report))
    return report
