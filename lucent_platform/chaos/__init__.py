"""``lucent chaos``: long-running scenarios against the whole local pipeline (issue #11).

Each scenario starts the stack itself (``lucent_platform.stack.local``), drives it, reads
what every stage did from the broker and the workers' metrics endpoints, and ends in a verdict
of promises held or failed (the command's exit code). ``soak`` is the first: sustained load
for N minutes (``soak``, ``readings``, ``minutes``, ``verdict``, ``lines``). Fault scenarios
(a worker killed, ClickHouse or NATS away) belong beside it and reuse the readings.
"""
