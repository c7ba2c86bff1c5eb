"""AI agent coordination, pure: the live market state the request/reply service answers from
(``market``, ``queries``) and the predictions agents publish, checked and enveloped for the
record (``predictions``). ``streaming/agents`` does the NATS and Kafka I/O."""
