"""The documentation stays short, complete and linked: the README, docs/*.md and .env.example (offline, no app)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from pydantic import AliasChoices

from research.config import EnvironmentSettings

ROOT = Path(__file__).resolve().parent.parent  # absolute: the suite's fixtures chdir into a temporary folder
README = ROOT / "README.md"
DOCS = ROOT / "docs"
CONFIGURATION = DOCS / "configuration.md"
ENV_EXAMPLE = ROOT / ".env.example"
MAX_README_LINES = 200

HELD_BACK: frozenset[str] = frozenset()
"""Settings declared in config.py that docs/configuration.md and .env.example may not list yet (each must still
be documented somewhere in docs/). Remove a name here in the change that adds it to both."""

DOCUMENTED = frozenset({
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "RESEARCH_API", "RESEARCH_MODEL", "RESEARCH_DEMO", "RESEARCH_AGENT_TIMEOUT",
    "RESEARCH_RUN_TIMEOUT", "RESEARCH_MAX_RETRIES", "RESEARCH_MAX_CONCURRENCY", "RESEARCH_WORKER_CONCURRENCY",
    "RESEARCH_RATE_LIMIT", "RESEARCH_MAX_OUTPUT_TOKENS", "RESEARCH_DATA_DIR", "RESEARCH_DATABASE_URL",
    "RESEARCH_WORKER_ID", "RESEARCH_TRACING", "RESEARCH_PRICES", "RESEARCH_SEARCH", "SEARXNG_URL", "TAVILY_API_KEY",
    "RESEARCH_FETCH_PRIVATE",
})
"""The settings the documentation is known to cover; a check that :func:`env_names` reads config.py right."""

LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto:, …


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def env_names() -> set[str]:
    """The environment variables the pydantic-settings model reads, as pydantic-settings names them."""
    config = EnvironmentSettings.model_config
    prefix = config.get("env_prefix") or ""
    names = set()
    for field_name, field in EnvironmentSettings.model_fields.items():
        alias = field.validation_alias or field.alias
        if isinstance(alias, AliasChoices):
            alias = next((choice for choice in alias.choices if isinstance(choice, str)), None)
        name = alias if isinstance(alias, str) else f"{prefix}{field_name}"
        names.add(name if config.get("case_sensitive") else name.upper())
    return names


def outside_code(text: str) -> str:
    """A Markdown text with fenced code blocks and inline code blanked out (the lines stay where they were)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            lines.append("")
            continue
        lines.append("" if fenced else re.sub(r"`[^`]*`", "``", line))
    return "\n".join(lines)


def links(path: Path) -> list[tuple[int, str]]:
    """Every link target of a Markdown file with its line number (link texts may span lines)."""
    text = outside_code(path.read_text(encoding="utf-8"))
    return [(text.count("\n", 0, match.start()) + 1, match.group(1)) for match in LINK.finditer(text)]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation and formatting dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = unicodedata.normalize("NFC", text).lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file (a repeated heading gets -1, -2, … as on GitHub)."""
    seen: dict[str, int] = {}
    found = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        match = None if fenced else HEADING.match(line)
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def table_rows(path: Path) -> set[str]:
    """The variable names that start a row of a Markdown table (`| `NAME` | meaning | default |`)."""
    return set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|[^|\n]*\S[^|\n]*\|[^|\n]*\S", path.read_text(encoding="utf-8"),
                          re.MULTILINE))


def env_example_names() -> set[str]:
    """The variables `.env.example` sets or shows commented out (`NAME=` or `# NAME=`)."""
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(encoding="utf-8"), re.MULTILINE))


def test_the_readme_is_at_most_200_lines() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines; move details into docs/"


def test_the_readme_opens_with_make_run_and_make_test() -> None:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"^```[^\n]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    assert block is not None, "README.md has no command block"
    commands = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines()]
    assert "make run" in commands and "make test" in commands, block.group(0)
    assert commands.index("make run") < commands.index("make test")
    before = text[:block.start()]
    assert "##" not in before and len(before.splitlines()) <= 5, "the two commands come first"


def test_the_settings_are_read_from_config_py() -> None:
    names = env_names()
    assert DOCUMENTED <= names, f"config.py no longer declares {sorted(DOCUMENTED - names)}"
    assert not DOCUMENTED & HELD_BACK


@pytest.mark.parametrize("name", sorted(DOCUMENTED | env_names()))
def test_every_setting_is_documented_with_its_meaning_and_default(name: str) -> None:
    rows = table_rows(README) | table_rows(CONFIGURATION)
    if name in HELD_BACK and not (name in rows and name in env_example_names()):
        assert any(name in table_rows(doc) for doc in DOCS.glob("*.md")), f"{name} is documented nowhere"
        pytest.skip(f"{name} is not in docs/configuration.md and .env.example yet")
    assert name in rows, f"{name} needs a row (meaning and default) in docs/configuration.md"
    assert name in env_example_names(), f"{name} is missing from .env.example"


def test_the_readme_links_every_doc() -> None:
    linked = {target.split("#", 1)[0] for _, target in links(README)}
    missing = [f"docs/{doc.name}" for doc in sorted(DOCS.glob("*.md")) if f"docs/{doc.name}" not in linked]
    assert not missing, f"README.md does not link {missing}"


@pytest.mark.parametrize("path", markdown_files(), ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_relative_link_points_to_an_existing_file_and_heading(path: Path) -> None:
    broken = []
    for number, target in links(path):
        if EXTERNAL.match(target):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"line {number}: {target} (no such file)")
        elif anchor and linked.suffix == ".md" and anchor.lower() not in anchors(linked):
            broken.append(f"line {number}: {target} (no such heading in {linked.name})")
    assert not broken, f"{path.relative_to(ROOT)}: " + "; ".join(broken)


def test_the_link_checker_finds_links_and_anchors() -> None:
    assert LINK.findall("see [what *verified*\nmeans](grounding.md#what-verified-means) and [x](https://a.b)") == [
        "grounding.md#what-verified-means", "https://a.b"]
    assert outside_code("```sh\n[a](missing.md)\n```\nand `[b](missing.md)`") == "\n\n\nand ``"
    assert slug("What *verified* means") == "what-verified-means"
    assert slug("Concurrency, rate limits and several processes") == "concurrency-rate-limits-and-several-processes"
    assert "timeouts-and-retries" in anchors(CONFIGURATION)
