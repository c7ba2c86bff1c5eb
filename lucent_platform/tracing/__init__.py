"""``lucent trace``: a domain event's causal chain back to the market messages that caused it.
``chain`` walks it over lookups (pure), ``lookups`` reads the event store, Kafka and ClickHouse,
``render`` prints it as a tree or JSON."""
