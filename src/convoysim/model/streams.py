"""The random numbers of one replication, split by purpose.

Common random numbers: two plans that share a replication index should meet the same dice
wherever they do not differ (docs/streams.md). Two kinds of stream serve that:

- **Keyed numbers** (`ReplicationStreams.keyed`, `NumbersByKey`): a generator of its own for a
  purpose and a key (an IED's cell of road, a vehicle), so what a plan changes elsewhere can never
  shift it.
- **Substreams**: a purpose's uniforms (and normals) consumed one after another in the order the
  march asks (speeds, halts, ambushes, ...), synchronised only while two plans ask alike. One numpy
  call fills every purpose's first block; a purpose that uses up its block draws another.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

PURPOSES = ("speed", "halts", "ambush", "harassment", "vehicles", "events", "drones")
BLOCK = 32
KEYED_PURPOSES = ("ied", "breakdowns", "recovery")
"""Purposes drawn by key; a purpose's place in this tuple is part of its keys (append, never reorder)."""
SMALLEST_UNIFORM = 1e-300
"""A uniform of exactly 0 turned into a normal is -inf: it is read as this instead."""

_STANDARD_NORMAL = NormalDist()


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


class Number:
    """One uniform number as a stream for one draw of a distribution (`Distribution.draw`): a
    uniform, or the normal of the same quantile. A draw from its own number stays in step with
    the other draws whatever its distribution's kind."""

    __slots__ = ("u",)

    def __init__(self, u: float):
        self.u = u

    def uniform(self) -> float:
        return self.u

    def normal(self) -> float:
        return _STANDARD_NORMAL.inv_cdf(max(self.u, SMALLEST_UNIFORM))


class ReplicationStreams:
    """One Substream per purpose, and keyed generators, all from the replication's own generator."""

    __slots__ = PURPOSES + ("_entropy",)

    def __init__(self, rng: np.random.Generator):
        self._entropy = rng.integers(2**63, size=2).tolist()
        block = rng.random(BLOCK * len(PURPOSES)).tolist()
        for k, name in enumerate(PURPOSES):
            setattr(self, name, Substream(rng, block[k * BLOCK : (k + 1) * BLOCK]))

    def keyed(self, purpose: str, *key: int) -> np.random.Generator:
        """The generator of (this replication, purpose, *key): the same numbers whatever else the
        replication draws, and in whatever order it asks for them (keys are non-negative ints)."""
        spawn_key = (KEYED_PURPOSES.index(purpose), *key)
        return np.random.default_rng(np.random.SeedSequence(self._entropy, spawn_key=spawn_key))


class NumbersByKey:
    """The numbers of one purpose by key (a cell of road, a vehicle): key k's i-th number is the same
    whatever the other keys use, and in whatever order they are asked for. The first `width` numbers
    of every key come in one numpy call (`table`, one row per key); a key that needs more gets its
    own keyed generator for the rest."""

    __slots__ = ("table", "_streams", "_purpose", "_used")

    def __init__(self, streams: ReplicationStreams, purpose: str, keys: int, width: int):
        self._streams, self._purpose = streams, purpose
        self.table = streams.keyed(purpose).random((keys, width))
        self._used = [0] * keys

    def row(self, k: int, n: int) -> list[float]:
        """The first n numbers of key k."""
        row = self.table[k].tolist()[:n]
        if n > len(row):
            row += self._streams.keyed(self._purpose, k).random(n - len(row)).tolist()
        return row

    def next(self, k: int) -> Number:
        """Key k's next number (its first, second, ... each time it is asked), as a stream for one draw."""
        i = self._used[k]
        self._used[k] = i + 1
        return Number(self.row(k, i + 1)[i])
