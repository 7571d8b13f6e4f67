"""The README a newcomer reads: the two commands first, short, and every link and command in it real."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from ldp.cli import build_parser

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"

INSTALL_AND_RUN = "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/ldp up"
INSTALL_AND_TEST = "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/ldp test"

# Deep material belongs in docs/; a README that grows past this is no longer read to the end.
README_MAX_LINES = 220

# [text](target) — the target up to a space, a closing parenthesis or an anchor.
MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\(([^)\s#]+)(?:#[^)\s]*)?\)")
LINK_WITH_ANCHOR = re.compile(r"\[[^\]]*\]\(([^)\s#]*)#([^)\s]+)\)")
FENCED_ANY = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
FENCED_BLOCK = re.compile(r"^```(?:bash|sh|console)\n(.*?)^```", re.DOTALL | re.MULTILINE)


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def local_links(page: Path) -> list[str]:
    return [target for target in MARKDOWN_LINK.findall(page.read_text()) if "://" not in target
            and not target.startswith("mailto:")]


def test_readme_starts_with_exactly_the_two_commands() -> None:
    lines = README.read_text().splitlines()
    assert lines[0].startswith("# ")
    first_block = lines[1:6]
    assert first_block == ["", "```bash", INSTALL_AND_RUN, INSTALL_AND_TEST, "```"], (
        "README must open with exactly the two commands (run / test), nothing before them"
    )


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci_commands = [line for line in (REPO_ROOT / ".ci" / "run").read_text().splitlines()
                   if line and not line.startswith("#")]
    assert ci_commands[-1] == INSTALL_AND_TEST


def test_readme_stays_short() -> None:
    line_count = len(README.read_text().splitlines())
    assert line_count <= README_MAX_LINES, (
        f"README.md has {line_count} lines (limit {README_MAX_LINES}): move deep material to a docs/ page "
        "and link it"
    )


def test_readme_links_into_docs() -> None:
    assert any(link.startswith("docs/") for link in local_links(README))


@pytest.mark.parametrize("page", markdown_files(), ids=lambda page: str(page.relative_to(REPO_ROOT)))
def test_every_local_link_resolves_to_a_file(page: Path) -> None:
    missing = [link for link in local_links(page) if not (page.parent / link).resolve().exists()]
    assert not missing, f"{page.relative_to(REPO_ROOT)} links to files that do not exist: {missing}"


def heading_anchors(page: Path) -> set[str]:
    """GitHub's anchors: a heading lower-cased, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", FENCED_ANY.sub("", page.read_text()), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("page", markdown_files(), ids=lambda page: str(page.relative_to(REPO_ROOT)))
def test_every_anchor_in_a_local_link_names_a_heading(page: Path) -> None:
    broken = []
    for target, anchor in LINK_WITH_ANCHOR.findall(page.read_text()):
        linked = page if not target else (page.parent / target).resolve()
        if "://" not in target and linked.suffix == ".md" and anchor not in heading_anchors(linked):
            broken.append(f"{target}#{anchor}")
    assert not broken, f"{page.relative_to(REPO_ROOT)} links to headings that do not exist: {broken}"


def test_every_docs_page_is_reachable_from_the_readme() -> None:
    reached: set[Path] = set()
    to_visit = [README.resolve()]
    while to_visit:
        page = to_visit.pop()
        if page in reached or page.suffix != ".md" or not page.exists():
            continue
        reached.add(page)
        for link in local_links(page):
            target = (page.parent / link).resolve()
            to_visit.append(target / "README.md" if target.is_dir() else target)
    unreachable = [str(page.relative_to(REPO_ROOT)) for page in DOCS.rglob("*.md") if page.resolve() not in reached]
    assert not unreachable, f"docs pages no link from README.md leads to: {unreachable}"


def ldp_invocations(text: str) -> list[list[str]]:
    """Every `ldp …` command in the fenced shell blocks of a page, as argv after `ldp`."""
    invocations = []
    for block in FENCED_BLOCK.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            for segment in re.split(r"&&|\|\||;|\|", line.split(" #")[0]):
                words = shlex.split(segment)
                while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):  # VAR=value before the command
                    words.pop(0)
                if words and (words[0] == "ldp" or words[0].endswith("/ldp")):
                    invocations.append(words[1:])
    return invocations


@pytest.mark.parametrize("page", markdown_files(), ids=lambda page: str(page.relative_to(REPO_ROOT)))
def test_ldp_commands_in_code_blocks_exist(page: Path) -> None:
    subcommands = build_parser()._subparsers._group_actions[0].choices  # argparse keeps no public accessor
    unknown = []
    for argv in ldp_invocations(page.read_text()):
        if not argv or argv[0] not in subcommands:
            unknown.append(" ".join(argv[:2]))
            continue
        nested = [action for action in subcommands[argv[0]]._actions if action.choices and action.dest != "help"
                  and not action.option_strings]
        if nested and len(argv) > 1 and not argv[1].startswith("-") and argv[1] not in nested[0].choices:
            unknown.append(" ".join(argv[:2]))
    assert not unknown, f"{page.relative_to(REPO_ROOT)} shows `ldp` commands that do not exist: {unknown}"
