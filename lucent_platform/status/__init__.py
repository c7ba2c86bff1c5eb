"""``lucent status``: one typed snapshot of the running platform (``snapshot``), gathered from
the services, the supervisor's worker records, offsets, metrics and ClickHouse (``gather``)."""
