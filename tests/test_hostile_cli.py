"""Hostile values on the command line: every corpus text (and undecodable bytes, 400 digits,
NUL) in every name, id, time and path option of ``lucent alerts``, ``topics``, ``replay``,
``reprocess``, ``tail``, ``worker`` and ``trace``, against a running broker. Each is exit 2
(usage) or 1 (a clear refusal) with one ``Error:`` line, never a traceback, never an abort
(a group id with lone surrogates once aborted the process inside librdkafka)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from lucent_platform.cli.main import cli
from lucent_platform.config import Settings, with_overrides
from lucent_platform.topics import TopicNameError, segment
from tests.fixtures.hostile import TEXTS

VALUES = {
    **{name: text for name, text in TEXTS.items() if name != "lone_surrogate"},
    "undecodable_bytes": "\udcff\udcfe",  # how Python hands over argv bytes that are not UTF-8
    "digits_400": "9" * 400,
    "minus_one": "-1",
}


def commands(text: str, recording: str) -> list[list[str]]:
    rule = ["alerts", "add", "--user", "u", "--pair", "ETH-USDC"]
    return [
        ["alerts", "add", "--user", text, "--pair", "ETH-USDC", "--above", "1"],
        ["alerts", "add", "--user", "u", "--pair", text, "--above", "1"],
        [*rule, "--exchange", text, "--above", "1"],
        [*rule, "--above", text],
        [*rule, "--move", "5", "--within", text],
        [*rule, "--above", "1", "--id", text],
        ["alerts", "remove", text],
        ["topics", "provision", "--pairs", text],
        ["topics", "provision", "--exchanges", text],
        ["replay", text],
        ["replay", recording, "--exchange", text, "--to", "stdout"],
        ["replay", recording, "--chain", text, "--to", "stdout"],
        ["reprocess", "--group", text, "--since", "1h", "--dry-run"],
        ["reprocess", "--group", "g", "--since", text, "--dry-run"],
        ["reprocess", "--group", "g", "--since", "1h", "--until", text, "--dry-run"],
        ["tail", text, "-n", "1"],
        ["worker", text],
        ["trace", text],
    ]


@pytest.mark.parametrize("name", sorted(VALUES))
def test_hostile_values_are_refused_with_one_line(
    name: str, kafka_bootstrap: str, settings: Settings, tmp_path: Path
) -> None:
    local = with_overrides(settings, kafka_bootstrap_servers=kafka_bootstrap)
    recording = tmp_path / "frames.jsonl"
    recording.write_text('{"exchange": "binance", "received_ns": 1, "message": "{}"}\n')
    for args in commands(VALUES[name], str(recording)):
        result = CliRunner().invoke(cli, args, obj={"settings": local})
        shown = [a[:40] for a in args]
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            shown, repr(result.exception)
        )  # fmt: skip
        if result.exit_code != 0:  # a hostile text taken as data (a rule id, a group) is fine
            assert result.exit_code in (1, 2), (shown, result.output)
            assert "Error" in result.output or "error" in result.output, (shown, result.output)
            assert "Traceback" not in result.output


@pytest.mark.parametrize("name", ["sql_backtick", "sql_quote", "nul", "long_10k", "empty"])
def test_a_hostile_database_setting_stops_the_command_naming_it(name: str) -> None:
    """LUCENT_CLICKHOUSE_DATABASE is written into DDL and queries: an identifier or nothing."""
    result = CliRunner().invoke(
        cli, ["query", "freshness"], env={"LUCENT_CLICKHOUSE_DATABASE": TEXTS[name].replace(
            "\x00", "\\x00")}  # an environment variable cannot hold a NUL
    )  # fmt: skip
    assert result.exit_code == 2, (result.output, result.exception)
    assert "LUCENT_CLICKHOUSE_DATABASE" in result.output and "Traceback" not in result.output


def _not_a_segment(text: str) -> bool:
    try:
        segment(text)
    except TopicNameError:
        return True
    return False


@pytest.mark.parametrize("option", ["--pairs", "--exchanges"])
def test_hostile_instruments_stop_up_demo_and_record_naming_the_setting(
    option: str, settings: Settings, tmp_path: Path
) -> None:
    """Exchanges and pairs become topic names: a value that cannot be a topic segment stops
    `lucent up`, `demo` and `record` before anything starts, naming the variable (values that
    are segments would start the stack, so only the others are tried; an empty one means the
    defaults)."""
    variable = "LUCENT_PAIRS" if option == "--pairs" else "LUCENT_EXCHANGES"
    for text in [t for t in VALUES.values() if t.strip() and _not_a_segment(t)]:
        for args in (["up", "--seconds", "1", option, text],
                     ["demo", "--seconds", "1", option, text],
                     ["record", "--out", str(tmp_path / "r.jsonl"), "--seconds", "1", option,
                      text]):  # fmt: skip
            result = CliRunner().invoke(cli, args, obj={"settings": settings})
            assert result.exit_code == 2, (args[0], text[:40], result.output, result.exception)
            assert variable in result.output, (args[0], result.output)


@pytest.mark.parametrize("number", ["nan", "inf", "-inf", "-1", "1e400", "9" * 400 + "e9"])
def test_absurd_numbers_are_usage_errors(number: str, settings: Settings, tmp_path: Path) -> None:
    """NaN and ±inf pass every comparison of a plain float range (`--seconds nan` ran
    forever, `--speed nan` failed in time.sleep): refused, as are negative durations and
    rates, before anything starts; the same values in LUCENT_SIMULATOR_RATE/REPLAY_SPEED stop
    the command naming the variable."""
    recording = tmp_path / "r.jsonl"
    recording.write_text("")
    for args in (["feed", "simulate", "--seconds", number], ["feed", "simulate", "--rate", number],
                 ["replay", str(recording), "--speed", number],
                 ["record", "--out", str(tmp_path / "o.jsonl"), "--seconds", number],
                 ["up", "--seconds", number], ["demo", "--seconds", number],
                 ["status", "--watch", number], ["bench", "processor", "--seconds", number],
                 ["bench", "processor", "--warmup", number]):  # fmt: skip
        result = CliRunner().invoke(cli, args, obj={"settings": settings})
        assert result.exit_code == 2, (args, result.output, result.exception)
        assert "Error" in result.output and "Traceback" not in result.output
    for variable in ("LUCENT_SIMULATOR_RATE", "LUCENT_REPLAY_SPEED"):
        result = CliRunner().invoke(cli, ["replay", str(recording)], env={variable: number})
        assert result.exit_code == 2 and variable in result.output, (variable, result.output)
