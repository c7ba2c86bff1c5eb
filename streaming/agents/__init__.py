"""``lucent worker agents``: AI agent coordination on NATS (issue 8).

- ``follow``: reads ``market.prices.all`` (no consumer group) into the live market state;
- ``replies``: answers ``agents.query.price.{pair}`` / ``agents.query.features.{pair}``;
- ``recorder``: records ``agents.predictions.{model}.{pair}`` on the Kafka topic
  ``agents.predictions`` (the ClickHouse sink stores it), bad ones on ``market.deadletter``;
- ``worker``: the three in one asyncio loop until SIGTERM/SIGINT.
"""
