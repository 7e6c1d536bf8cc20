"""`FlowTester` that also renders every page it shows with the real templates (Gatehouse's, and
a custom step's own `templates/` folder), as the browser would get it: a missing or broken
template fails a unit test rather than a person. A custom step's tests take it from here:

    from ui.testing import FlowTester

The rendered page is `tester.html`.
"""

from __future__ import annotations

from pathlib import Path

from quart import Quart

from engine import FlowTester as EngineFlowTester
from steps import Page
from ui.blueprints import BLUEPRINTS
from ui.flow_pages import render_step_page
from ui.i18n import install_translations
from ui.step_templates import BUILTIN, install_step_templates

STATIC = Path(__file__).resolve().parent / "static"


class FlowTester(EngineFlowTester):
    html: str = ""  # the page shown last, rendered

    async def __aenter__(self) -> FlowTester:
        await super().__aenter__()
        self._pages = Quart("gatehouse-pages", template_folder=str(BUILTIN),
                            static_folder=str(STATIC))
        install_translations(self._pages.jinja_env)
        install_step_templates(self._pages, lambda: self.flows)
        for blueprint in BLUEPRINTS:  # the endpoints templates link to
            self._pages.register_blueprint(blueprint)
        self._rendered: Page | None = None
        return self

    async def render(self, page: Page) -> str:
        """`page` as HTML; raises the template's error (TemplateNotFound...)."""
        async with self._pages.test_request_context("/"):
            response = await render_step_page(self.run, self.client, page)
            html = await response.get_data(as_text=True)
        self.html, self._rendered = html, page
        return html

    async def _show(self) -> Page | None:
        page = await super()._show()
        if page is not None:
            await self.render(page)
        return page

    async def submit(self, **form: str) -> Page | None:
        page = await super().submit(**form)
        if page is not None and page is not self._rendered:
            await self.render(page)  # the same page again, with its errors
        return page
