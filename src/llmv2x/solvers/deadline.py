"""One wall-clock deadline per solve, shared by every loop and backend call of a method.

``SolveSettings.time_limit`` limits the whole solve, not each backend call
(docs/algorithms.md, "Time limit"). Each method creates one ``Deadline`` when it starts and
passes it down: loops ask ``expired()`` between steps, and every backend call is given
``budget()`` seconds, the time left, since Python cannot interrupt a call into C. A step
whose cost cannot be bounded (writing a Pyomo model for IPOPT, say) is skipped when
``affords(estimate)`` says its last measured duration does not fit in the time left.
"""

from __future__ import annotations

import math
import time

#: Smallest time limit handed to a backend (seconds): a zero or negative one is refused by
#: some solvers, and this is far below any overrun that matters.
MIN_BACKEND_S = 0.01


class Deadline:
    """A point on the ``time.perf_counter`` clock after which a method must stop.

    Parameters
    ----------
    time_limit : seconds from ``start`` (None: no limit; every query says "time left").
    start : ``time.perf_counter()`` value the limit counts from (default: now).
    """

    def __init__(self, time_limit: float | None, start: float | None = None) -> None:
        self.time_limit = None if time_limit is None else float(time_limit)
        self.start = time.perf_counter() if start is None else float(start)
        self.at = math.inf if self.time_limit is None else self.start + self.time_limit
        #: set by ``expired()`` the first time it answers True, so a caller can tell a
        #: method's status after its loops have unwound
        self.hit = False

    @property
    def limited(self) -> bool:
        """True when there is a time limit."""
        return self.time_limit is not None

    def elapsed(self) -> float:
        """Seconds since ``start``."""
        return time.perf_counter() - self.start

    def remaining(self) -> float:
        """Seconds left (``inf`` without a limit, negative once past the deadline)."""
        return self.at - time.perf_counter()

    def expired(self) -> bool:
        """True once the deadline has passed (and remembered in ``hit``)."""
        if time.perf_counter() >= self.at:
            self.hit = True
        return self.hit

    def affords(self, estimate_s: float) -> bool:
        """True when a step expected to take ``estimate_s`` seconds fits in the time left.

        A False answer marks the deadline as hit: the method stops as if it had expired.
        """
        if self.remaining() > estimate_s:
            return True
        self.hit = True
        return False

    def budget(self, cap: float | None = None) -> float | None:
        """Seconds to give a backend call: the time left (at least ``MIN_BACKEND_S``),
        at most ``cap``; None when there is neither a limit nor a cap."""
        if self.time_limit is None:
            return cap
        left = max(self.remaining(), MIN_BACKEND_S)
        return left if cap is None else min(left, cap)

    def __repr__(self) -> str:
        return f"Deadline(time_limit={self.time_limit}, remaining={self.remaining():.3g})"


def no_deadline() -> Deadline:
    """A deadline that never expires (the default of functions that accept one)."""
    return Deadline(None)
