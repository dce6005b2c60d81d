"""Growable columns and a time index over them: what the windowed sources keep per version.

:class:`TimeIndex` holds positions (into a source's own columns) sorted by timestamp, so
a window ``(start, end]`` is two binary searches and a slice, whatever the length of the
history. Positions added in time order are appended in O(batch) amortised; an earlier
one is merged in once, in O(history). :meth:`TimeIndex.drop_through` forgets the oldest
entries and renumbers the rest, for a source that drops its old rows (a retention bound).
Callers serialise writers and readers (the sources hold a lock around both).

Examples
--------
>>> import numpy as np
>>> from modelship.monitor._timeindex import TimeIndex
>>> index = TimeIndex()
>>> index.add(np.array([0, 1, 2]), np.array([5.0, 1.0, 3.0]))
>>> index.window(2.0, 5.0).tolist()
[2, 0]
>>> index.drop_through(1.0, size=3).tolist()   # which of positions 0..2 are kept
[True, False, True]
>>> index.window(0.0, 5.0).tolist()            # renumbered: old 2 is 1, old 0 is 0
[1, 0]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Column", "TimeIndex"]

FloatArray = npt.NDArray[np.float64]


class Column:
    """A float64 or int64 array that grows by doubling; ``view()`` is the filled part."""

    def __init__(self, dtype: type[np.generic]) -> None:
        self._data: npt.NDArray[Any] = np.empty(1024, dtype=dtype)
        self.size = 0

    def extend(self, values: npt.NDArray[Any]) -> None:
        need = self.size + values.size
        if need > self._data.size:
            grown = np.empty(max(need, 2 * self._data.size), dtype=self._data.dtype)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : need] = values
        self.size = need

    def view(self) -> npt.NDArray[Any]:
        return self._data[: self.size]


class TimeIndex:
    """Positions kept sorted by their timestamps; see the module docstring."""

    def __init__(self) -> None:
        self.positions = Column(np.int64)
        self.stamps = Column(np.float64)

    def add(self, positions: npt.NDArray[np.int64], stamps: FloatArray) -> None:
        order = np.argsort(stamps, kind="stable")
        positions, stamps = positions[order], stamps[order]
        known = self.stamps.view()
        if known.size and stamps.size and stamps[0] < known[-1]:
            at = np.searchsorted(known, stamps, side="right")
            merged_p = np.insert(self.positions.view(), at, positions)
            merged_t = np.insert(known, at, stamps)
            self.positions, self.stamps = Column(np.int64), Column(np.float64)
            positions, stamps = merged_p, merged_t
        self.positions.extend(positions)
        self.stamps.extend(stamps)

    def window(self, start: float, end: float) -> npt.NDArray[np.int64]:
        stamps = self.stamps.view()
        lo = int(np.searchsorted(stamps, start, side="right"))
        hi = int(np.searchsorted(stamps, end, side="right"))
        return self.positions.view()[lo:hi]

    def drop_through(self, cutoff: float, *, size: int) -> npt.NDArray[np.bool_]:
        """Forget the entries stamped at or before ``cutoff``; returns which of the
        positions ``0 .. size - 1`` (the caller's columns, each indexed here once) are
        kept. The entries left are renumbered as the kept positions are, in order: the
        caller compacts its columns with the mask."""
        stamps = self.stamps.view()
        dropped = int(np.searchsorted(stamps, cutoff, side="right"))
        keep = np.ones(size, dtype=bool)
        if dropped == 0:
            return keep
        positions = self.positions.view()
        keep[positions[:dropped]] = False
        renumbered = np.cumsum(keep) - 1
        rest_p = renumbered[positions[dropped:]].astype(np.int64)
        rest_t = stamps[dropped:].copy()
        # New columns sized to what is left: the memory of the dropped entries is freed.
        self.positions, self.stamps = Column(np.int64), Column(np.float64)
        self.positions.extend(rest_p)
        self.stamps.extend(rest_t)
        return keep

    def oldest(self) -> float | None:
        """The earliest timestamp held, or None when empty."""
        return float(self.stamps.view()[0]) if self.stamps.size else None
