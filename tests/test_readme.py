"""README.md stays true: every setting and every command is documented."""

from __future__ import annotations

from pathlib import Path

import click

from lucent_platform.cli.main import cli
from lucent_platform.config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    missing = [
        f"LUCENT_{n.upper()}" for n in Settings.model_fields if f"LUCENT_{n.upper()}" not in README
    ]
    assert missing == []


def test_every_command_is_documented() -> None:
    def walk(group: click.Group, prefix: str) -> list[str]:
        names = []
        for name, command in group.commands.items():
            names.append(f"{prefix} {name}")
            if isinstance(command, click.Group):
                names += walk(command, f"{prefix} {name}")
        return names

    missing = [name for name in walk(cli, "lucent") if f"`{name}" not in README]
    assert missing == []


def test_quick_start_shows_the_two_commands() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make run" in quick_start and "make test" in quick_start
