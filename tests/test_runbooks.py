"""docs/runbooks/ stay runnable: every `lucent …` command they name exists, with its options."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from lucent_platform.cli.main import cli

RUNBOOKS = Path(__file__).resolve().parents[1] / "docs" / "runbooks"
PAGES = sorted(RUNBOOKS.glob("*.md"))


def commands_in(text: str) -> list[str]:
    """Every ``lucent …`` command line in the page's code (inline spans and fenced blocks),
    up to a pipe, a redirection or the end of the span."""
    code = re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)
    spans = re.findall(r"(?<!`)`([^`\n][^`]*)`(?!`)", re.sub(r"```.*?```", "", text, flags=re.S))
    found = []
    for chunk in [*code, *spans]:
        chunk = chunk.replace("\\\n", " ")
        for match in re.finditer(r"(?:^|[\s(])lucent((?: +[^\s|;&>#`)]+)+)", chunk):
            found.append("lucent" + match.group(1))
    return found


def resolve(line: str) -> tuple[click.Command, list[str]]:
    """The command a line runs and the options it passes; raises when a word is no command."""
    words = line.split()[1:]
    command: click.Command = cli
    while isinstance(command, click.Group):
        if not words:
            raise AssertionError(f"{line!r}: a group without a command")
        name = words.pop(0)
        if name not in command.commands:
            raise AssertionError(f"{line!r}: no command {name!r} in {command.name}")
        command = command.commands[name]
    return command, [w.split("=", 1)[0] for w in words if w.startswith("-")]


def test_every_runbook_page_exists() -> None:
    names = {page.stem for page in PAGES}
    assert {
        "consumer-lag", "stale-source", "dead-letter-spike", "clickhouse-down", "nats-down",
        "replay-a-time-range", "add-an-exchange-or-pair",
    } <= names  # fmt: skip
    index = (RUNBOOKS / "README.md").read_text()
    assert all(f"({page.name})" in index for page in PAGES if page.name != "README.md")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_every_command_a_runbook_names_exists(page: Path) -> None:
    lines = commands_in(page.read_text())
    if page.name != "README.md":
        assert lines, f"{page.name} names no lucent command"
        text = page.read_text()
        for heading in ("## Symptom", "## Diagnosis", "## Fix", "## Verify"):
            assert heading in text, f"{page.name} has no {heading!r}"
    for line in lines:
        command, options = resolve(line)
        known = {opt for param in command.params for opt in [*param.opts, *param.secondary_opts]}
        known |= {"--help", "-h"}
        unknown = [opt for opt in options if opt not in known]
        assert unknown == [], f"{page.name}: {line!r} passes unknown options {unknown}"


def test_the_checker_catches_a_wrong_command() -> None:
    assert commands_in("run `lucent status --json | jq .` then\n```sh\nlucent tail X -n 5\n```") \
        == ["lucent tail X -n 5", "lucent status --json"]  # fmt: skip
    with pytest.raises(AssertionError, match="no command 'restart'"):
        resolve("lucent restart processor")
