"""docs/flows.md stays true: its diagrams are those of flows.yaml, its `flows check` output is real,
its examples load and run, and it names every built-in step type and condition.

After changing flows.yaml (or the checks), regenerate the generated parts of the guide with
`.venv/bin/python -m tests.docs.test_flows_doc`.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.conditions import BUILTIN_CONDITIONS
from engine.diagram import render_mermaid
from engine.loader import FlowsError, load_flows, load_flows_text
from engine.testing import FlowTester
from server.cli import main
from steps.registry import BUILTIN_STEPS
from ui.testing import FlowTester as PageTester

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "flows.md"
FLOWS = ROOT / "flows.yaml"
REGENERATE = "regenerate it with `.venv/bin/python -m tests.docs.test_flows_doc`"
BEGIN, END = "<!-- BEGIN generated from flows.yaml -->", "<!-- END generated from flows.yaml -->"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
CHECK_COMMAND = "$ gatehouse flows check broken.yaml\n"
CUSTOM_NAME = re.compile(r"\b([a-z_][\w.]*\.[a-z_]\w*):([A-Z]\w*)\b")
SHIPPED, TESTING = "The shipped flows", "Testing your flows with FlowTester"
CONDITIONS, CHECKING, CUSTOM_STEP = "Conditions", "Checking, drawing and reloading", "Writing a custom step"
PASSWORD = "a long passphrase"


def section(text: str, title: str, level: int = 2) -> str:
    """The text under the heading `title` of this level, up to the next heading as high."""
    heading = f"\n{'#' * level} {title}\n"
    start = text.index(heading)
    fenced = [m.span() for m in FENCE.finditer(text)]
    ends = [
        m.start() for m in re.compile(rf"^#{{1,{level}}} ", re.M).finditer(text, start + len(heading))
        if not any(a <= m.start() < b for a, b in fenced)
    ]
    return text[start : ends[0]] if ends else text[start:]


def blocks(text: str, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(text) if lang == language]


def shipped_flows_markdown() -> str:
    """The generated part of "The shipped flows": each flow's description and diagram."""
    flows = load_flows(FLOWS)
    return "".join(
        f"\n### `{name}`\n\n{' '.join(flow.description.split())}\n\n"
        f"```mermaid\n{render_mermaid(flows, name)}```\n"
        for name, flow in flows.spec.flows.items()
    )


def check_output(broken: str) -> str:
    """What `gatehouse flows check broken.yaml` prints for this file."""
    try:
        load_flows_text(broken, "broken.yaml")
    except FlowsError as exc:
        return str(exc)
    raise AssertionError("the broken example in docs/flows.md has no problems")


def regenerate(path: Path = DOC) -> None:
    """Rewrite the shipped-flow diagrams and the `flows check` example output in place."""
    text = path.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    text = f"{text[:start]}\n{shipped_flows_markdown()}{text[end:]}"
    broken = blocks(section(text, CHECKING), "yaml")[0]
    output = f"```console\n{CHECK_COMMAND}{check_output(broken)}\n```"
    text = re.sub(rf"^```console\n{re.escape(CHECK_COMMAND)}.*?^```$", lambda _: output, text,
                  count=1, flags=re.M | re.S)
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_every_shipped_flow_diagram_is_that_of_flows_yaml(doc: str) -> None:
    flows = load_flows(FLOWS)
    shipped = section(doc, SHIPPED)
    drawn = {
        name: blocks(section(shipped, f"`{name}`", 3), "mermaid")
        for name in re.findall(r"^### `([^`]+)`$", shipped, re.M)
    }
    assert list(drawn) == list(flows.spec.flows), f"docs/flows.md lists other flows: {REGENERATE}"
    stale = [name for name, found in drawn.items() if found != [render_mermaid(flows, name)]]
    assert not stale, f"docs/flows.md has out-of-date diagrams of {stale}: {REGENERATE}"


def test_the_generated_part_is_exactly_what_regenerate_writes(doc: str) -> None:
    generated = doc[doc.index(BEGIN) + len(BEGIN) : doc.index(END)]
    assert generated == f"\n{shipped_flows_markdown()}", f"docs/flows.md is stale: {REGENERATE}"


def test_regenerate_rewrites_the_blocks_in_place(doc: str, tmp_path: Path) -> None:
    stale = doc.replace("flowchart TD\n", "flowchart LR\n").replace(CHECK_COMMAND, CHECK_COMMAND + "x\n")
    assert stale != doc
    copy = tmp_path / "flows.md"
    copy.write_text(stale, encoding="utf-8")
    regenerate(copy)
    assert copy.read_text(encoding="utf-8") == doc


def test_the_flows_check_example_is_what_the_command_prints(
    doc: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checking = section(doc, CHECKING)
    broken, printed = blocks(checking, "yaml")[0], blocks(checking, "console")[0]
    (tmp_path / "broken.yaml").write_text(broken, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["flows", "check", "broken.yaml"])
    assert result.exit_code == 1
    assert printed == f"{CHECK_COMMAND}{result.stderr}", f"stale output: {REGENERATE}"
    assert result.stderr == f"{check_output(broken)}\n"  # what regenerate() writes


def test_every_builtin_step_type_has_its_section(doc: str) -> None:
    steps = section(doc, "Steps")
    missing = [name for name in BUILTIN_STEPS if f"\n### `{name}`\n" not in steps]
    assert not missing, f"docs/flows.md does not describe the step types {missing}"


def test_every_step_section_names_its_options_and_outcomes(doc: str) -> None:
    steps = section(doc, "Steps")
    for name, step in BUILTIN_STEPS.items():
        text = section(steps, f"`{name}`", 3)
        names = [*step.Options.model_fields, *step.outcomes, *step.optional_outcomes]
        missing = [n for n in names if f"`{n}`" not in text]
        assert not missing, f"the section on `{name}` does not mention {missing}"


def test_every_builtin_condition_is_in_the_table(doc: str) -> None:
    table = section(doc, CONDITIONS)
    missing = [name for name in BUILTIN_CONDITIONS if f"\n| `{name}` |" not in table]
    assert not missing, f"docs/flows.md does not describe the conditions {missing}"


def test_every_complete_flows_example_loads(doc: str) -> None:
    """Examples that are whole files (a top-level `flows:`) load without problems; those naming
    custom classes are run by the tests below, and the broken one is meant to fail."""
    examples = [
        body for body in blocks(doc.replace(section(doc, CHECKING), ""), "yaml")
        if re.search(r"^flows:", body, re.M) and not CUSTOM_NAME.search(body)
    ]
    assert len(examples) >= 2
    for example in examples:
        load_flows_text(example, "docs/flows.md")


@pytest.fixture
def importable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path for the example modules, forgotten afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]


def install(folder: Path, code: str, flows: str) -> None:
    """Save `code` as the module `flows` names by `package.module:ClassName`."""
    module = CUSTOM_NAME.search(flows)
    assert module is not None, "the example names no custom class"
    *packages, leaf = module.group(1).split(".")
    here = folder
    for package in packages:
        here = here / package
        here.mkdir(exist_ok=True)
        (here / "__init__.py").touch()
    (here / f"{leaf}.py").write_text(code, encoding="utf-8")


def code_and_flows(text: str) -> tuple[str, str]:
    """The first python block of `text`, and the first yaml block after it."""
    fences = list(FENCE.finditer(text))
    at = next(i for i, fence in enumerate(fences) if fence.group(1) == "python")
    flows = next(fence for fence in fences[at:] if fence.group(1) == "yaml")
    return fences[at].group(2), flows.group(2)


async def test_the_custom_step_example_is_short_and_works(doc: str, importable: Path) -> None:
    """The example step, installed outside the tree with its page, in a tester that renders
    each page with the real templates."""
    text = section(doc, CUSTOM_STEP)
    code, flows = code_and_flows(text)
    assert len(code.splitlines()) < 40
    install(importable, code, flows)
    page_file = importable / "mysteps" / "templates" / "mysteps" / "colour.html"
    page_file.parent.mkdir(parents=True)
    page_file.write_text(blocks(text, "html")[0], encoding="utf-8")
    async with PageTester(load_flows_text(flows)) as tester:
        await tester.add_user("alice", PASSWORD, claims={"favourite_colour": "green"})
        await tester.start()
        await tester.submit(login="alice")
        page = await tester.submit(password=PASSWORD)
        assert page is not None and tester.step == "colour"
        assert ("green", "Green") in page.values["choices"]
        assert "Pick your favourite colour</h1>" in tester.html
        assert 'name="choice" value="green">Green</button>' in tester.html
        page = await tester.submit(choice="purple")
        assert page is not None and page.errors == {"choice": "Pick one of the colours."}
        await tester.submit(choice="green")
        assert tester.result == "done" and tester.path[-2:] == ["colour", "done"]
        await tester.start()
        await tester.submit(login="alice")
        await tester.submit(password=PASSWORD)
        await tester.submit(choice="red")
        assert tester.result == "deny"


async def test_the_custom_condition_example_works(doc: str, importable: Path) -> None:
    text = section(doc, "Custom conditions", 3)
    code, flows = code_and_flows(text)
    install(importable, code, flows)
    async with FlowTester(load_flows_text(flows)) as tester:
        for login, email, step in [("alice", "alice@example.com", "staff-terms"),
                                   ("bob", "bob@elsewhere.example", None)]:
            await tester.add_user(login, PASSWORD, email=email)
            await tester.start()
            await tester.submit(login=login, password=PASSWORD)
            assert tester.step == step


async def test_the_flowtester_examples_run(doc: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the examples open "flows.yaml"
    ran = []
    for code in blocks(section(doc, TESTING), "python"):
        namespace: dict[str, Any] = {}
        exec(compile(code, "<example in docs/flows.md>", "exec"), namespace)
        for name, function in namespace.items():
            if name.startswith("test_") and inspect.iscoroutinefunction(function):
                await function()
                ran.append(name)
    assert "test_alice_signs_in_with_her_password" in ran and len(ran) >= 2


if __name__ == "__main__":
    regenerate()
    print(f"rewrote {DOC.relative_to(ROOT)}")
