"""Diagrams of a flow, as Mermaid (`flowchart TD`) or Graphviz DOT text.

Every step is a node labelled with its name and type (a custom step's own `type`; a sub-flow
step with the flow it calls); the start step has an entry arrow from a start node; `done`,
`deny` and `error` are drawn, each in its own shape, only when some branch reaches them. Every
branch is an edge labelled with its outcome, numbered in the order the branches are tried when
an outcome has several, ` if <condition>` (as flows.yaml writes it) when it has one,
` otherwise` when it is the fallback of conditional branches, and the message of a `deny` or
`error`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.conditions import compile_condition
from engine.loader import FlowSet
from engine.model import TERMINALS, FlowSpec, StepSpec
from steps import SubflowStep

START_ID = "start"


class UnknownFlow(LookupError):
    """No flow has that name; the message lists the flows there are."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown flow {name!r} (flows: {', '.join(known)})")


@dataclass
class Node:
    id: str
    lines: list[str]
    kind: str  # "start", "step", "subflow", "decide", or a terminal


@dataclass
class Edge:
    source: str
    target: str
    lines: list[str]


@dataclass
class Diagram:
    name: str
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def _step_node(node_id: str, name: str, step: StepSpec, kind: str) -> Node:
    """A step's node: its name, and its type as its class names it (a custom step's, not the
    `package.module:ClassName` flows.yaml loads it by)."""
    if step.type == SubflowStep.type:
        return Node(node_id, [name, f"(sub-flow: {step.options.get('flow')})"], "subflow")
    return Node(node_id, [name, f"({kind})"], "decide" if step.type == "decide" else "step")


def build_diagram(flows: FlowSet, name: str) -> Diagram:
    """The nodes and edges of flow `name`; raises `UnknownFlow`."""
    flow: FlowSpec | None = flows.spec.flows.get(name)
    if flow is None:
        raise UnknownFlow(name, list(flows.spec.flows))
    ids = {step: f"n{i}" for i, step in enumerate(flow.steps)}
    ids.update({terminal: f"t_{terminal}" for terminal in TERMINALS})
    diagram = Diagram(name, [Node(START_ID, ["start"], "start")])
    loaded = flows.flows[name].steps
    diagram.nodes += [
        _step_node(ids[s], s, step, loaded[s].type if s in loaded else step.type)
        for s, step in flow.steps.items()
    ]
    diagram.edges.append(Edge(START_ID, ids[flow.start_step], []))
    reached: set[str] = set()
    for step_name, step in flow.steps.items():
        for outcome in step.on:
            branches = step.branches(outcome)
            conditional = any(branch.when is not None for branch in branches)
            for i, branch in enumerate(branches, 1):
                order = f"{i}. " if len(branches) > 1 else ""  # the order they are tried in
                if branch.when is not None:
                    label = f"{order}{outcome} if {compile_condition(branch.when).describe()}"
                else:
                    label = f"{order}{outcome} otherwise" if conditional else outcome
                lines = [label]
                if branch.message is not None:
                    lines.append(f"message: {branch.message}")
                diagram.edges.append(Edge(ids[step_name], ids[branch.to], lines))
                reached.add(branch.to)
    for terminal in ("done", "deny", "error"):
        if terminal in reached:
            diagram.nodes.append(Node(ids[terminal], [terminal], terminal))
    return diagram


# Mermaid: labels are quoted; what could end the quote, the label or the edge text, or be read
# as HTML or markdown, is written as an entity code (`#quot;`, `#35;`...).
_MERMAID_ENTITIES = {
    "#": "#35;", '"': "#quot;", "&": "#amp;", "<": "#lt;", ">": "#gt;", "|": "#124;",
    "`": "#96;", "\r": "", "\n": "<br/>",
}
_MERMAID_SHAPES = {
    "start": '(("{}"))', "step": '["{}"]', "subflow": '[["{}"]]', "decide": '{{"{}"}}',
    "done": '(["{}"])', "deny": '{{{{"{}"}}}}', "error": '>"{}"]',
}
_MERMAID_CLASSES = {
    "start": "fill:#333,color:#fff,stroke:#333",
    "done": "fill:#d8f5d0,stroke:#2e7d32",
    "deny": "fill:#fde0dc,stroke:#c62828",
    "error": "fill:#fff3cd,stroke:#b26a00",
}


def mermaid_text(text: str) -> str:
    """`text` made safe inside a quoted Mermaid label."""
    return "".join(_MERMAID_ENTITIES.get(char, char) for char in text)


def _mermaid_label(lines: list[str]) -> str:
    return "<br/>".join(mermaid_text(line) for line in lines)


def render_mermaid(flows: FlowSet, name: str) -> str:
    """Flow `name` as a Mermaid flowchart; raises `UnknownFlow`."""
    diagram = build_diagram(flows, name)
    out = ["flowchart TD"]
    for node in diagram.nodes:
        out.append(f"    {node.id}{_MERMAID_SHAPES[node.kind].format(_mermaid_label(node.lines))}")
    for edge in diagram.edges:
        text = f'|"{_mermaid_label(edge.lines)}"|' if edge.lines else ""
        out.append(f"    {edge.source} -->{text} {edge.target}")
    kinds = {node.kind for node in diagram.nodes}
    for kind, style in _MERMAID_CLASSES.items():
        if kind in kinds:
            out.append(f"    classDef {kind}Node {style}")
            members = ",".join(node.id for node in diagram.nodes if node.kind == kind)
            out.append(f"    class {members} {kind}Node")
    return "\n".join(out) + "\n"


_DOT_SHAPES = {
    "start": 'shape=circle, style=filled, fillcolor="#333333", fontcolor=white',
    "step": "shape=box",
    "subflow": "shape=box, peripheries=2",
    "decide": "shape=diamond",
    "done": 'shape=box, style="rounded,filled", fillcolor="#d8f5d0"',
    "deny": 'shape=hexagon, style=filled, fillcolor="#fde0dc"',
    "error": 'shape=octagon, style=filled, fillcolor="#fff3cd"',
}


def dot_text(text: str) -> str:
    """`text` as a double-quoted DOT string (backslash and quote escaped, newlines as `\\n`)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\r", "").replace("\n", "\\n") + '"'


def _dot_label(lines: list[str]) -> str:
    return dot_text("\n".join(lines))


def render_dot(flows: FlowSet, name: str) -> str:
    """Flow `name` as a Graphviz digraph; raises `UnknownFlow`."""
    diagram = build_diagram(flows, name)
    out = [
        f"digraph {dot_text(diagram.name)} {{",
        "    rankdir=TB;",
        '    node [fontname="sans-serif"];',
        '    edge [fontname="sans-serif", fontsize=10];',
    ]
    for node in diagram.nodes:
        out.append(f"    {node.id} [label={_dot_label(node.lines)}, {_DOT_SHAPES[node.kind]}];")
    for edge in diagram.edges:
        label = f" [label={_dot_label(edge.lines)}]" if edge.lines else ""
        out.append(f"    {edge.source} -> {edge.target}{label};")
    out.append("}")
    return "\n".join(out) + "\n"
