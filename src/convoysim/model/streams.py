"""The random numbers of one replication, keyed by what they decide.

Common random numbers: two plans that share a replication index should meet the same dice
wherever they do not differ (docs/streams.md). So every random decision draws from numbers keyed
by what it is about (an IED's cell of road, a vehicle, the k-th ambush, a waypoint's halt, a drone
base's day), never from a stream consumed in the order the march asks: what a plan changes
elsewhere can never shift them.

A key's generator is `SeedSequence(entropy of the replication, spawn_key=(purpose, *key))`
(`ReplicationStreams.keyed`). A generator costs about 13 us beside a replication of about 3 ms,
so a purpose lays its numbers out as a table, one row per key drawn in one numpy call
(`NumbersByKey`, `NumbersByDay`), and a key gets a generator of its own only past its row or for a
whole incident (`IncidentNumbers`).
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from enum import IntEnum
from statistics import NormalDist

import numpy as np

KEYED_PURPOSES = (
    "ied",
    "breakdowns",
    "recovery",
    "route",
    "events",
    "thresholds",
    "incidents",
    "drone_days",
)
"""Purposes drawn by key; a purpose's place in this tuple is part of its keys (append, never reorder)."""
SMALLEST_UNIFORM = 1e-300
"""A uniform of exactly 0 turned into a normal is -inf: it is read as this instead."""
DAYS_PER_BLOCK = 64
"""`NumbersByDay` draws days in blocks of this many UTC days (counted from 1 January 1970)."""

FEW = 8
"""Numbers `ReplicationStreams.few` gives for one key (one 64-byte BLAKE2b digest)."""
_WORDS = struct.Struct(f"<{FEW}Q")
_STANDARD_NORMAL = NormalDist()


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


def name_key(name: str) -> int:
    """A key for something named in the scenario (a drone base, an event): the same whatever else the plan lists."""
    return zlib.crc32(name.encode())


class ReplicationStreams:
    """The keyed generators of one replication, all from the replication's own generator's entropy."""

    __slots__ = ("_entropy", "_hash_key")

    def __init__(self, rng: np.random.Generator):
        self._entropy = rng.integers(2**63, size=2).tolist()
        self._hash_key = struct.pack("<2Q", *self._entropy)

    def keyed(self, purpose: str, *key: int) -> np.random.Generator:
        """The generator of (this replication, purpose, *key): the same numbers whatever else the
        replication draws, and in whatever order it asks for them (keys are non-negative ints)."""
        spawn_key = (KEYED_PURPOSES.index(purpose), *key)
        return np.random.default_rng(np.random.SeedSequence(self._entropy, spawn_key=spawn_key))

    def few(self, purpose: str, *key: int) -> list[float]:
        """`FEW` numbers of (this replication, purpose, *key), from a keyed hash (BLAKE2b) rather than
        a generator: about 1 us where a generator costs 13, for keys that need only a few numbers
        (an incident's own, a vehicle's in an incident, an event's delay)."""
        message = struct.pack(f"<{1 + len(key)}Q", KEYED_PURPOSES.index(purpose), *key)
        words = _WORDS.unpack(hashlib.blake2b(message, key=self._hash_key, digest_size=8 * FEW).digest())
        return [(w >> 11) * 2.0**-53 for w in words]  # the top 53 bits: a uniform in [0, 1)


class NumbersByKey:
    """The numbers of one purpose by key (a cell of road, a vehicle, a waypoint, the k-th ambush):
    key k's i-th number is the same whatever the other keys use, and in whatever order they are
    asked for. The first `width` numbers of the first `keys` keys come in one numpy call (`table`,
    one row per key); a key past them, or needing more, gets its own keyed generator for the rest.
    (`keys` may depend on the plan: row k of the table is the same however many rows follow it.)"""

    __slots__ = ("table", "_streams", "_purpose", "_used")

    def __init__(self, streams: ReplicationStreams, purpose: str, keys: int, width: int):
        self._streams, self._purpose = streams, purpose
        self.table = streams.keyed(purpose).random((keys, width))
        self._used = [0] * keys

    def row(self, k: int, n: int) -> list[float]:
        """The first n numbers of key k."""
        row = self.table[k].tolist()[:n] if k < len(self.table) else []
        if n > len(row):
            row += self._streams.keyed(self._purpose, k).random(n - len(row)).tolist()
        return row

    def number(self, k: int, i: int) -> Number:
        """Key k's i-th number, as a stream for one draw."""
        return Number(self.row(k, i + 1)[i])

    def next(self, k: int) -> Number:
        """Key k's next number (its first, second, ... each time it is asked), as a stream for one draw."""
        i = self._used[k]
        self._used[k] = i + 1
        return self.number(k, i)


class NumbersByDay:
    """The numbers of one purpose and key (a drone base) by UTC day: day d's row is the same whenever,
    and whether, it is asked. Days are drawn in blocks of `DAYS_PER_BLOCK` (one generator each,
    the first time one of its days is asked)."""

    __slots__ = ("_streams", "_purpose", "_key", "_width", "_blocks")

    def __init__(self, streams: ReplicationStreams, purpose: str, key: tuple[int, ...], width: int):
        self._streams, self._purpose, self._key, self._width = streams, purpose, key, width
        self._blocks: dict[int, np.ndarray] = {}

    def at(self, day: int, i: int) -> float:
        """The i-th number of UTC day `day` (days since 1 January 1970)."""
        block, d = divmod(day, DAYS_PER_BLOCK)
        table = self._blocks.get(block)
        if table is None:
            table = self._streams.keyed(self._purpose, *self._key, block).random((DAYS_PER_BLOCK, self._width))
            self._blocks[block] = table
        return float(table[d, i])


class IncidentKind(IntEnum):
    """Which kind of incident an `IncidentNumbers` key names (part of the key)."""

    AMBUSH = 0
    HARASSMENT = 1
    IED_STRIKE = 2
    POSITION = 3


class Own(IntEnum):
    """An incident's own numbers, by what they decide (each kind uses those it needs)."""

    TARGET = 0
    """Where an IED strike hits the column, where the kill zone falls."""
    CASEVAC = 1
    LENGTH = 2
    """The fight's length (ambush, breach), the harassment's delay, the bypass's extra hours."""
    COUNT = 3
    """How many vehicles are engaged or hit."""
    HALT = 4
    """Whether the column halts to regroup after an ambush, bypasses a defended position."""
    HALT_H = 5
    """How long it halts to regroup."""


class PerVehicle(IntEnum):
    """An incident's numbers for each vehicle of the column."""

    FATE = 0
    """Destroyed, damaged or unharmed."""
    KILLED = 1
    WOUNDED = 2


class IncidentNumbers:
    """One incident's numbers (the k-th ambush, an IED by its place, a defended position): its own
    (`own`, by `Own`), each vehicle's (`vehicle`, by `PerVehicle`) and, for vehicles engaged at
    random, one number per vehicle of the column (`picks`). Keyed by the incident (and the
    vehicle), so what happened before it, and which vehicles it meets, move none of them."""

    __slots__ = ("own", "_streams", "_key", "_vehicles", "_by_vehicle")

    def __init__(self, streams: ReplicationStreams, kind: IncidentKind, key: tuple[int, ...], vehicles: int):
        self._streams, self._key, self._vehicles = streams, (kind, *key), vehicles
        self.own = streams.few("incidents", *self._key)
        self._by_vehicle: dict[int, list[float]] = {}

    def number(self, what: Own) -> Number:
        """One of the incident's own numbers, as a stream for one draw."""
        return Number(self.own[what])

    def vehicle(self, v: int, what: PerVehicle) -> Number:
        """Vehicle v's number for this incident, as a stream for one draw."""
        numbers = self._by_vehicle.get(v)
        if numbers is None:
            numbers = self._by_vehicle[v] = self._streams.few("incidents", *self._key, v)
        return Number(numbers[what])

    def picks(self) -> list[float]:
        """One number per vehicle of the column: vehicles engaged at random are the moving ones with
        the smallest (a uniform random subset; one generator, as every vehicle needs one)."""
        return self._streams.keyed("incidents", *self._key).random(self._vehicles).tolist()
