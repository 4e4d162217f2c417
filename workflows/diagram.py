"""The lifecycle diagram, generated from the transition table (Mermaid ``stateDiagram``),
and the agency verification diagram, generated from its table.

``python -m workflows.diagram`` prints the first, ``python -m workflows.diagram agencies``
the second; ``docs/ARCHITECTURE.md`` embeds both and tests fail when they differ.
"""

from __future__ import annotations

import sys

from workflows import agency_flow
from workflows.request_flow import TRANSITIONS


def mermaid() -> str:
    """The table as a Mermaid state diagram, one arrow per (source, trigger). Rows that
    leave the state as it is (who holds the request: claim, unassign, reassign) are not
    drawn: nine arrows back to their own state would hide the lifecycle; the architecture
    document lists them under the diagram."""
    lines = ["stateDiagram-v2", "    [*] --> received: file (agency official)"]
    for t in TRANSITIONS:
        if t.dest is None:
            continue
        who = " / ".join(sorted(r.value for r in t.roles))
        for source in t.sources:
            lines.append(f"    {source.value} --> {t.dest.value}: {t.trigger} ({who})")
    lines.append("    closed --> [*]")
    return "\n".join(lines) + "\n"


def agency_mermaid() -> str:
    """The agency verification table as a Mermaid state diagram, one arrow per (source,
    action), labelled with what the action needs."""
    lines = ["stateDiagram-v2", "    [*] --> pending: register"]
    for t in agency_flow.TRANSITIONS:
        needs = ", ".join([*t.inputs, *(g.name for g in t.guards)])
        label = f"{t.action} ({needs})" if needs else t.action
        for source in t.sources:
            lines.append(f"    {source.value} --> {t.dest.value}: {label}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(agency_mermaid() if sys.argv[1:] == ["agencies"] else mermaid(), end="")
