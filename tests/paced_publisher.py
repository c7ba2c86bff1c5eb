"""Messages published at a steady rate in a thread, as a feed keeps data arriving while a
worker under test is killed and restarted."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Self

from lucent_platform.config import Settings
from streaming.publisher import Publisher

Message = tuple[str, bytes | None, bytes]
"""(topic, key, value)."""


class PacedPublisher:
    """``messages`` published at ``rate``/s in a thread once started; ``sent`` grows as it goes."""

    def __init__(
        self, settings: Settings, broker: str, messages: Sequence[Message], rate: float
    ) -> None:
        self.paced = messages
        self.rate = rate
        self.sent = 0
        self._publisher = Publisher(settings, broker)
        self._thread = threading.Thread(target=self._publish, daemon=True)

    def _publish(self) -> None:
        began = time.monotonic()
        for i, (topic, key, value) in enumerate(self.paced):
            ahead = i / self.rate - (time.monotonic() - began)
            if ahead > 0:
                time.sleep(ahead)
            self._publisher.publish(topic, key, value)
            self.sent = i + 1
        assert self._publisher.flush(30) == 0

    def start(self) -> Self:
        self._thread.start()
        return self

    def join(self) -> None:
        self._thread.join(120)
        assert not self._thread.is_alive()
