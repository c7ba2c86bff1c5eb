"""The signal apps' pure logic (issue #6), one module per app, each a ``WindowedApp``."""
