"""Every streaming worker by name: what ``lucent worker NAME`` runs and ``lucent up`` starts.

A worker is a callable taking the settings and the resolved endpoints and running until it is
told to stop (SIGTERM/SIGINT). Capabilities register their workers here as they land, and
their consumer group in ``BOUNDED`` when ``lucent reprocess --until`` may run them over a range.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from lucent_platform.config import Settings
from lucent_platform.stack.endpoints import Endpoints
from streaming.lifecycle import StopSignal

if TYPE_CHECKING:  # streaming.runtime loads the Kafka client; `lucent up` needs only names
    from streaming.runtime.metrics import WorkerMetrics

WorkerMain = Callable[[Settings, Endpoints], None]
BoundedRun = Callable[[Settings, str, StopSignal, Mapping[tuple[str, int], int]], "WorkerMetrics"]
"""(settings, bootstrap, stop, end offset per partition) → the metrics of a run that reads
from the group's committed offsets to those ends as the group, then stops by itself."""


def _feed(settings: Settings, endpoints: Endpoints) -> None:
    from streaming.feeds.worker import main

    main(settings, endpoints)


def _chain(settings: Settings, endpoints: Endpoints) -> None:
    from streaming.feeds.chain_worker import main

    main(settings, endpoints)


def _processor(settings: Settings, endpoints: Endpoints) -> None:
    from streaming.processor import main

    main(settings, endpoints)


def _clickhouse_sink(settings: Settings, endpoints: Endpoints) -> None:
    from streaming.sink import main

    main(settings, endpoints)


def _yield(settings: Settings, endpoints: Endpoints) -> None:
    from streaming.apps.yields import main

    main(settings, endpoints)


def _arbitrage(settings: Settings, endpoints: Endpoints) -> None:
    from streaming.apps.arbitrage import main

    main(settings, endpoints)


def _patterns(settings: Settings, endpoints: Endpoints) -> None:
    from streaming.apps.patterns import main

    main(settings, endpoints)


def _alerts(settings: Settings, endpoints: Endpoints) -> None:
    from streaming.apps.alerts import main

    main(settings, endpoints)


def _predictions(settings: Settings, endpoints: Endpoints) -> None:
    from streaming.apps.predictions import main

    main(settings, endpoints)


def _bridge(settings: Settings, endpoints: Endpoints) -> None:
    from streaming.bridge import main

    main(settings, endpoints)


def _domain(settings: Settings, endpoints: Endpoints) -> None:
    from streaming.domain.worker import main

    main(settings, endpoints)


def _monitor(settings: Settings, endpoints: Endpoints) -> None:
    from streaming.monitor import main

    main(settings, endpoints)


def _model_available(settings: Settings) -> bool:
    from streaming.apps.predictions import model_available

    return model_available(settings)


def _agents(settings: Settings, endpoints: Endpoints) -> None:
    from streaming.agents.worker import main

    main(settings, endpoints)


def _processor_range(
    settings: Settings, bootstrap: str, stop: StopSignal, until: Mapping[tuple[str, int], int]
) -> WorkerMetrics:
    from streaming.processor import run

    return run(settings, bootstrap, stop, until)


WORKERS: dict[str, WorkerMain] = {
    "processor": _processor,
    "feed": _feed,
    "chain": _chain,
    "clickhouse-sink": _clickhouse_sink,
    "alerts": _alerts,
    "yield": _yield,
    "arbitrage": _arbitrage,
    "patterns": _patterns,
    "agents": _agents,
    "predictions": _predictions,
    "bridge": _bridge,
    "domain": _domain,
    "monitor": _monitor,
}
"""Name → entry point. ``lucent up`` starts them in this order (those in ``STARTS_WHEN``
only when their condition holds)."""

STARTS_WHEN: dict[str, Callable[[Settings], bool]] = {
    "predictions": _model_available,  # nothing to predict with before a model is trained
    "chain": lambda settings: bool(settings.chains),  # LUCENT_CHAINS empty: no chain feed
}
"""Workers ``lucent up`` and ``lucent demo`` start only when their condition holds."""


def startable(settings: Settings) -> list[str]:
    """The workers ``lucent up`` starts with these settings, in order."""
    return [name for name in WORKERS if STARTS_WHEN.get(name, lambda _: True)(settings)]


EXPECTED_STAGES: dict[str, tuple[str, ...]] = {
    "feed": ("ingested",),
    "processor": ("normalized",),
    "clickhouse-sink": ("stored",),
    "arbitrage": ("arbitrage_opportunities",),
}
"""Worker name → the demo stages it must make non-empty (see ``lucent_platform.stage_report``)."""

BOUNDED: dict[str, BoundedRun] = {
    "lucent-processor": _processor_range,
}
"""Consumer group → its worker over a range of offsets (``lucent reprocess --until``); the
group names are the workers' own (``streaming.processor.GROUP_ID``, checked by the tests)."""
