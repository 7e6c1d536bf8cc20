"""Steps keep data of their own about a user (`StepContext.user_data`), by namespace, across
runs; it is never a claim, and what does not fit is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.testing import FlowTester
from steps.base import MAX_STEP_DATA, StepContext

FLOWS = """\
default_flow: default
flows:
  default:
    steps:
      identify:
        type: identify
        on:
          success: password
      password:
        type: password
        on:
          success: count
      count:
        type: tests.engine.fake_steps:VisitCountStep
        on:
          success: done
"""


@pytest.fixture
async def tester(tmp_path: Path) -> AsyncIterator[FlowTester]:
    path = tmp_path / "flows.yaml"
    path.write_text(FLOWS)
    async with FlowTester(path) as flow_tester:
        yield flow_tester


async def sign_in(tester: FlowTester) -> int:
    await tester.start()
    await tester.submit(login="alice")
    page = await tester.submit(password="a long passphrase")
    assert page is not None and tester.step == "count"
    await tester.submit()
    assert tester.result == "done"
    return int(page.values["visits"])


async def test_data_is_kept_per_user_across_runs_and_is_no_claim(tester: FlowTester) -> None:
    await tester.add_user("alice", "a long passphrase", claims={"locale": "fr"})
    assert [await sign_in(tester), await sign_in(tester)] == [0, 1]  # as each run began
    user = await tester.store.users.find_by_login("alice")
    assert user is not None
    assert user.step_data == {"tests.visit_count": {"visits": 2}}
    assert user.claims == {"locale": "fr"}  # what tokens and userinfo are made of


async def test_what_does_not_fit_is_refused(tester: FlowTester) -> None:
    user = await tester.add_user("bob", "a long passphrase")
    await tester.start()
    ctx = StepContext(tester.run, "x", tester.client, tester.services, tester.now)
    with pytest.raises(ValueError, match="no user is known"):
        await ctx.save_user_data("ns", {"a": 1})
    ctx.identify(user)
    with pytest.raises(ValueError, match="bytes as JSON"):
        await ctx.save_user_data("ns", {"a": "x" * MAX_STEP_DATA})
    with pytest.raises(ValueError):
        await ctx.save_user_data("ns", {"a": float("nan")})
    with pytest.raises(ValueError, match="namespace"):
        await ctx.save_user_data("", {})
    assert await ctx.user_data("ns") == {}
