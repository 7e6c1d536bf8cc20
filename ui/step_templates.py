"""Templates that steps ship. A step type's module may have a `templates/` folder beside it (a
custom step in a package of its own keeps its page there, as a theme would); it is searched
after Gatehouse's own `ui/templates/`, for the flows in use now (hot reload included).

A step's `template` found in neither place is a problem that `gatehouse flows check`, start-up
and hot reload report (`check_templates`), before anyone is shown a broken page.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, TemplateNotFound
from quart import Quart

from engine import FlowSet
from oidc import current_provider

BUILTIN = Path(__file__).resolve().parent / "templates"
FOLDER = "templates"


def step_template_dirs(flows: FlowSet) -> list[Path]:
    """The `templates/` folders beside the modules of the step types `flows` uses."""
    found: dict[Path, None] = {}
    for flow in flows.flows.values():
        for step in flow.steps.values():
            module = sys.modules.get(type(step).__module__)
            source = getattr(module, "__file__", None)
            if source and (folder := Path(source).resolve().parent / FOLDER).is_dir():
                found.setdefault(folder)
    return [folder for folder in found if folder != BUILTIN]


def check_templates(flows: FlowSet) -> None:
    """Raise ValueError naming every step whose page template is nowhere to be found."""
    folders = [BUILTIN, *step_template_dirs(flows)]
    problems = []
    for flow in flows.flows.values():
        for name, step in flow.steps.items():
            template = getattr(step, "template", None)
            if not step.shows_page or not isinstance(template, str):
                continue
            if not any((folder / template).is_file() for folder in folders):
                kind = flow.spec.steps[name].type
                problems.append(
                    f"flow {flow.name}, step {name} ({kind}): its template {template!r} is in"
                    f" none of {', '.join(str(f) for f in folders)}"
                )
    if problems:
        raise ValueError("; ".join(problems))


class StepTemplateLoader(BaseLoader):
    """Finds a template in the step folders of the flows that `flows()` gives."""

    def __init__(self, flows: Callable[[], FlowSet]) -> None:
        self.flows = flows

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        try:
            folders = step_template_dirs(self.flows())
        except (RuntimeError, KeyError) as exc:  # no app, or no provider yet
            raise TemplateNotFound(template) from exc
        return FileSystemLoader([str(f) for f in folders]).get_source(environment, template)


def install_step_templates(
    app: Quart, flows: Callable[[], FlowSet] = lambda: current_provider().engine.flows
) -> None:
    """Search the steps' own folders after Gatehouse's templates, for `flows()` (by default
    the flows in use)."""
    env = app.jinja_env
    assert env.loader is not None
    env.loader = ChoiceLoader([env.loader, StepTemplateLoader(flows)])
