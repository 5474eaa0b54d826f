"""A wait on the bench loop that tells the charger's silence from the bench's own stall.

`asyncio.wait_for` checks its deadline when the loop gets to it. If the loop was stalled across the deadline
(a blocking call on it, the host starved of CPU), the deadline is checked late, often in the same loop turn
in which the charger's answer is read off the socket and before it is delivered: the wait times out with
the answer unread. That is the bench's fault, not the charger's silence, so a deadline checked more than
STALL_S (real) late raises :class:`CsmsBenchFault` naming the stall; a timely one re-raises the timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from runner.csms.errors import CsmsBenchFault

T = TypeVar("T")

# Real seconds a deadline may be checked late before the loop counts as stalled: an idle loop is late by
# well under a millisecond, a loaded host's by tens of milliseconds; a second late is no scheduling jitter.
STALL_S = 1.0


async def within(aw: Awaitable[T], timeout_real_s: float, what: str) -> T:
    """`await asyncio.wait_for(aw, timeout_real_s)`; a timeout whose deadline the loop reached more than
    STALL_S late raises CsmsBenchFault ("`what`: the bench's event loop was stalled ...")."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_real_s
    try:
        return await asyncio.wait_for(aw, timeout_real_s)
    except TimeoutError:
        late = loop.time() - deadline
        if late > STALL_S:
            raise CsmsBenchFault(f"{what}: the bench's event loop was stalled, and reached the deadline "
                                 f"({timeout_real_s:.1f} s real) {late:.1f} s late, so what the charger sent "
                                 "meanwhile may not have been read yet; the bench's fault, not the charger's "
                                 "silence") from None
        raise
