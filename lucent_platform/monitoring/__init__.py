"""Data-quality monitoring in the stream (issue #10 item 2): failure rates, freshness,
cross-exchange deviation and missing sources, as alerts that open and resolve once.

``monitor.Monitor`` is the pure core ``lucent worker monitor`` (``streaming/monitor.py``)
runs; ``records`` reads what it observes; ``alerts`` puts the ``MonitoringAlert`` transitions
on the wire; ``status.open_alerts`` reads the open ones back for ``lucent status``.
"""
