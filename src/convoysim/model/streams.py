"""The random numbers of one replication, split by purpose and drawn in numpy blocks.

Each purpose (speeds, halts, IEDs, breakdowns, ambushes, harassment, which vehicles are hit and
what befalls them, repairs, external events, drone sorties) reads its own list of
uniforms, so changing one part of a scenario does not shift the draws of the others: two design
points that share a replication index share their random numbers purpose by purpose (common
random numbers). One numpy call fills every purpose's first block; a purpose that uses up its
block draws another from the same generator.
"""

from __future__ import annotations

import numpy as np

PURPOSES = ("speed", "halts", "ied", "breakdowns", "ambush", "harassment", "vehicles", "recovery", "events", "drones")
BLOCK = 32


class Substream:
    """Uniform and standard-normal numbers for one purpose, consumed one at a time."""

    __slots__ = ("_rng", "_u", "_i", "_z", "_j")

    def __init__(self, rng: np.random.Generator, first_block: list[float]):
        self._rng = rng
        self._u = first_block
        self._i = 0
        self._z: list[float] = []
        self._j = 0

    def uniform(self) -> float:
        """A number in [0, 1)."""
        i = self._i
        if i == len(self._u):
            self._u = self._rng.random(BLOCK).tolist()
            i = 0
        self._i = i + 1
        return self._u[i]

    def normal(self) -> float:
        j = self._j
        if j == len(self._z):
            self._z = self._rng.standard_normal(BLOCK).tolist()
            j = 0
        self._j = j + 1
        return self._z[j]


class ReplicationStreams:
    """One Substream per purpose, all from the replication's own generator."""

    __slots__ = PURPOSES

    def __init__(self, rng: np.random.Generator):
        block = rng.random(BLOCK * len(PURPOSES)).tolist()
        for k, name in enumerate(PURPOSES):
            setattr(self, name, Substream(rng, block[k * BLOCK : (k + 1) * BLOCK]))
