"""A step that fails at run time (an exception in `render` or `handle`, an outcome it does not
declare) ends the run in `error`, whose completion answers the client, instead of stranding the
person on "Something went wrong"; the run's log names the step and why."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.runs import STEP_FAILED
from engine.testing import FlowTester

FLOWS = """\
default_flow: default
flows:
  default:
    steps:
      broken:
        type: tests.engine.fake_steps:BrokenStep
        on:
          success: done
"""


@pytest.fixture
async def tester(tmp_path: Path) -> AsyncIterator[FlowTester]:
    path = tmp_path / "flows.yaml"
    path.write_text(FLOWS)
    async with FlowTester(path) as flow_tester:
        yield flow_tester


def failure(tester: FlowTester) -> str:
    [event] = [e for e in tester.run.log if e["event"] == "step_failed"]
    assert event["step"] == "broken" and event["flow"] == "default"
    return str(event["reason"])


async def test_an_exception_in_render_ends_the_run_in_error(tester: FlowTester) -> None:
    await tester.start(login_hint="fail-render")
    assert tester.result == "error" and tester.message == STEP_FAILED
    assert failure(tester) == "RuntimeError: render broke"


async def test_an_exception_in_handle_ends_the_run_in_error(tester: FlowTester) -> None:
    await tester.start()
    assert tester.step == "broken"
    await tester.submit(do="raise")
    assert tester.result == "error" and tester.message == STEP_FAILED
    assert failure(tester) == "ValueError: handle broke"


async def test_an_undeclared_outcome_names_the_step_and_what_it_declares(
    tester: FlowTester,
) -> None:
    await tester.start()
    await tester.submit(do="stray")
    assert tester.result == "error"
    assert failure(tester) == (
        "step 'broken' (type tests.engine.fake_steps:BrokenStep) answered the outcome 'stray',"
        " which it does not declare (it declares another_way, success)"
    )


async def test_a_step_that_works_is_not_touched(tester: FlowTester) -> None:
    await tester.start()
    await tester.submit(do="nothing")
    assert tester.result == "done"
