"""On-chain market data: pure decoders from ``eth_getLogs`` log objects to envelope payloads.

``logs`` parses a log object and wraps decoded values in envelopes (the on-chain location and
the reorg retraction rule live there), ``abi`` holds event topics and ABI decoding over eth-abi,
``registry`` the shipped metadata of well-known pools and tokens; one module per source family
(``uniswap_v2``, ``uniswap_v3``, …) turns a log into typed values and payloads.
"""
