"""The domain side of the platform: commands from market signals, domain events, decisions.

Pure core: no NATS, no event store here, only the values that travel between them and the
decisions made on them — ``commands.py`` (what the bridge publishes), ``bridge.py`` (record →
command or dead letter), ``events.py`` (event types, streams, metadata, announcements),
``handling.py`` (what a handler appends for a command or a price check), ``sizing.py``,
``rebalance.py``, ``portfolio.py`` (state from a stream), ``prices.py`` (live valuation),
``config.py`` (``LUCENT_DOMAIN_CONFIG``). The workers live in ``streaming/bridge`` and
``streaming/domain``.
"""
