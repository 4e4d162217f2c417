"""Documentation that is generated must match what it is generated from."""

from __future__ import annotations

import re
from pathlib import Path

from workflows.diagram import mermaid

ROOT = Path(__file__).resolve().parents[2]


def test_architecture_diagram_matches_the_transition_table():
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    found = re.search(
        r"<!-- lifecycle diagram: begin -->\n```mermaid\n(.*?)```\n"
        r"<!-- lifecycle diagram: end -->",
        text,
        re.S,
    )
    assert found, "the diagram markers are missing from docs/ARCHITECTURE.md"
    assert found.group(1) == mermaid(), "regenerate with: python -m workflows.diagram"


def test_readme_starts_with_the_two_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    block = lines[lines.index("```sh") + 1 : lines.index("```sh") + 3]
    assert block[0].startswith("make run") and block[1].startswith("make test")
