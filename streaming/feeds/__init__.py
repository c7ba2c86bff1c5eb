"""Feeds: the workers that bring market data into the raw topics.

``LUCENT_FEED`` (or ``lucent up --feed``) chooses one: the market simulator (default), a
replay of recorded exchange traffic, or the live exchanges through ccxt.pro. Beside it, the
chain feed (``chain.py``, ``chain_ws.py`` over ``jsonrpc.py``; ``lucent worker chain``)
follows the nodes of ``LUCENT_CHAINS``.
"""
