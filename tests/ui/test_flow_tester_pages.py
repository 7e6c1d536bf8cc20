"""ui.testing's FlowTester renders each page it shows with the real templates, so a custom
step's missing or broken template fails a unit test; its own templates/ folder is searched."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import TemplateNotFound

from ui.testing import FlowTester

ROOT = Path(__file__).resolve().parents[2]
BROKEN = """\
default_flow: default
flows:
  default:
    steps:
      broken:
        type: tests.engine.fake_steps:BrokenStep
        on:
          success: done
"""


async def test_each_page_is_rendered_as_the_browser_gets_it() -> None:
    async with FlowTester(ROOT / "flows.yaml") as tester:
        await tester.add_user("alice", "a long passphrase")
        await tester.start()
        assert '<h1 id="page-title">Sign in</h1>' in tester.html
        await tester.submit(login="alice")
        await tester.submit(password="not it")
        assert "Error: Enter your password" in tester.html  # the page again, with its error
        assert 'aria-invalid="true"' in tester.html


async def test_a_missing_template_fails_the_test(tmp_path: Path) -> None:
    path = tmp_path / "flows.yaml"
    path.write_text(BROKEN)
    async with FlowTester(path) as tester:
        with pytest.raises(TemplateNotFound, match="no-such-page"):
            await tester.start(login_hint="no-template")


async def test_a_custom_steps_own_page_is_found_beside_its_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.e2e.test_custom_step_package import FLOW, PAGE, STEP

    package = tmp_path / "acme_steps"
    (package / "templates" / "acme").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "greeting.py").write_text(STEP)
    (package / "templates" / "acme" / "greeting.html").write_text(PAGE)
    monkeypatch.syspath_prepend(str(tmp_path))
    flows = "default_flow: greeting\nflows:" + FLOW.format(step="GreetingStep")
    async with FlowTester(flows) as tester:
        await tester.add_user("alice", "a long passphrase")
        await tester.start()
        await tester.submit(login="alice")
        await tester.submit(password="a long passphrase")
        assert tester.step == "greet" and "Hello alice, from Acme." in tester.html
