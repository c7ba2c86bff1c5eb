"""Predictive models trained on the training datasets (``lucent_platform.datasets``).

- ``baseline``: a regularized logistic regression on the direction of the forward return,
  its out-of-sample evaluation against a naive forecast, saving and loading;
- ``predictor``: the same features online, from decoded envelopes, into predictions.
"""
