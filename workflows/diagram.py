"""The lifecycle diagram, generated from the transition table (Mermaid ``stateDiagram``).

``python -m workflows.diagram`` prints it; ``docs/ARCHITECTURE.md`` embeds the output and
a test fails when the two differ.
"""

from __future__ import annotations

from workflows.request_flow import TRANSITIONS


def mermaid() -> str:
    """The table as a Mermaid state diagram, one arrow per (source, trigger)."""
    lines = ["stateDiagram-v2", "    [*] --> received: file (agency official)"]
    for t in TRANSITIONS:
        who = " / ".join(sorted(r.value for r in t.roles))
        for source in t.sources:
            lines.append(f"    {source.value} --> {t.dest.value}: {t.trigger} ({who})")
    lines.append("    closed --> [*]")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(mermaid(), end="")
