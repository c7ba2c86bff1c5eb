"""The simulator's one source of randomness: a seeded numpy Generator, served fast.

A numpy scalar draw costs about a microsecond; the simulator needs several per message. So
draws are taken from the Generator in blocks and handed out as Python floats. Everything is
drawn in one deterministic order from one seed, so a run is reproducible byte for byte.
"""

from __future__ import annotations

import math

import numpy as np

_BLOCK = 4096


class Draws:
    """Uniform, standard-normal and exponential draws from one seeded Generator."""

    def __init__(self, seed: int | np.random.SeedSequence) -> None:
        self.rng = np.random.default_rng(seed)
        self._uniforms: list[float] = []
        self._normals: list[float] = []
        self._exponentials: list[float] = []

    def uniform(self) -> float:
        """A draw from [0, 1)."""
        if not self._uniforms:
            self._uniforms = self.rng.random(_BLOCK).tolist()
        return self._uniforms.pop()

    def normal(self) -> float:
        """A standard-normal draw."""
        if not self._normals:
            self._normals = self.rng.standard_normal(_BLOCK).tolist()
        return self._normals.pop()

    def exponential(self) -> float:
        """A standard-exponential draw (mean 1)."""
        if not self._exponentials:
            self._exponentials = self.rng.standard_exponential(_BLOCK).tolist()
        return self._exponentials.pop()

    def between(self, low: float, high: float) -> float:
        """A uniform draw from [low, high)."""
        return low + (high - low) * self.uniform()

    def index(self, size: int) -> int:
        """A uniform index into a sequence of ``size`` items."""
        return min(int(self.uniform() * size), size - 1)

    def lognormal(self, median: float, sigma: float) -> float:
        """A positive draw around ``median`` (``sigma`` is the log-space spread)."""
        return median * math.exp(sigma * self.normal())
