"""The domain side of the platform: commands from market signals, domain events, handlers.

Pure core: no NATS, no event store here, only the values that travel between them and the
decisions made on them (``commands.py``; the bridge and the handlers live in ``streaming/``).
"""
