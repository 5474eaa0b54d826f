"""The charger's connection machinery: connect and reconnect with back-off, one OCPP session at a time,
heartbeats, and the outbox that delivers messages in order (transaction events are kept while offline,
replayed, and retried per OCPPCommCtrlr.MessageAttempts / MessageAttemptInterval)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import websockets
from ocpp.exceptions import OCPPError
from ocpp.v201 import call
from websockets.asyncio.client import connect

from lab.twin.blocks.core import ChargerCore
from lab.twin.blocks.state import (
    Outgoing,
)
from lab.twin.link import Link

log = logging.getLogger("lab.twin.charger")


# CALLERROR codes that refuse the message's form, not the moment: a retry would be refused alike.
MALFORMED = {
    "FormatViolation",
    "FormationViolation",  # OCPP 1.6 spelling, as some CSMSs still send it
    "TypeConstraintViolation",
    "PropertyConstraintViolation",
    "OccurrenceConstraintViolation",
    "ProtocolError",
    "MessageTypeNotSupported",
    "NotImplemented",
    "NotSupported",
}

# Messages a charger sends while its boot is Pending: those the CSMS asked for (B02.FR.02/03).
SENT_WHILE_PENDING = {"NotifyReport", "ReportChargingProfiles", "NotifyMonitoringReport"}


class Connection(ChargerCore):
    async def _run(self) -> None:
        """Connect by the network profiles (lab/twin/network_profiles.py), reconnect with back-off."""
        attempt = 0
        booted = self._down_until  # the reboot whose end last started the network profiles over
        self.network.begin(self.device.value("OCPPCommCtrlr", "NetworkConfigurationPriority"))
        while not self._stopping:
            if self.is_down:
                # Off (rebooting, or without power until power_on: _down_until is infinite then).
                await self.clock.asleep(min(self._down_until - self.clock.now(), 1.0))
                continue
            if self._down_until != booted:
                # Booting: NetworkConfigurationPriority as it is now applies (B10). Checked here, not on waking from
                # the reboot: a reboot can end while the last session still winds down (a close handshake of up to
                # 2 s real is minutes at twin speeds), and the twin then reconnected by the old profile (TC_B_49_CS).
                booted = self._down_until
                self.network.begin(self.device.value("OCPPCommCtrlr", "NetworkConfigurationPriority"))
                attempt = 0
            url = self.url = self.network.url(self.station.id)
            connecting = True
            try:
                async with connect(
                    url,
                    subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
                    additional_headers=self.security.headers(self._password()),
                    ssl=self._tls,
                    open_timeout=10,
                    ping_interval=None,
                    close_timeout=2,
                ) as ws:
                    connecting = False
                    attempt = 0
                    self.network.connected()
                    self.counters.connections += 1
                    await self._session(ws)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                if connecting:
                    self.counters.connect_failures += 1
                    self._connection_failed(e)  # a refused CSMS certificate is a security event (A04)
                self.counters.last_error = f"{type(e).__name__}: {e}"
                log.info("%s: connection to %s (slot %d) ended: %s", self.station.id, url, self.network.slot, e)
            finally:
                self.online = False
                self._link = None
                self._ws = None
            if self._stopping:
                break
            if self.is_down:
                continue
            if connecting and self.network.failed(self.device.int("OCPPCommCtrlr", "NetworkProfileConnectionAttempts")):
                continue  # NetworkProfileConnectionAttempts spent: the next profile, at once (B10)
            await self.clock.asleep(self._backoff(attempt))
            attempt += 1

    def _password(self) -> str | None:
        """The Basic-auth password now: SecurityCtrlr.BasicAuthPassword, which the CSMS may have changed."""
        if not self.security.basic_auth:
            return None
        return self.device.value("SecurityCtrlr", "BasicAuthPassword") or None

    def _backoff(self, attempt: int) -> float:
        wait_min = self.device.int("OCPPCommCtrlr", "RetryBackOffWaitMinimum")
        spread = self.device.int("OCPPCommCtrlr", "RetryBackOffRandomRange")
        repeats = self.device.int("OCPPCommCtrlr", "RetryBackOffRepeatTimes")
        return wait_min * 2 ** min(attempt, repeats) + self._rng.uniform(0, spread)

    async def _session(self, ws: Any) -> None:
        self._ws = ws
        timeout = max(self.clock.real(self.device.int("OCPPCommCtrlr", "MessageTimeout")), 5.0)
        link = Link(self, ws, response_timeout=timeout)
        receiver = asyncio.get_running_loop().create_task(link.start())
        helpers: list[asyncio.Task[Any]] = []
        try:
            if not self._registered:
                await self._boot(link, receiver)
                self._registered = True
            self._link = link
            self.online = True
            for evse in self.evses.values():
                evse.status = None  # report every connector again after (re)connecting
            for payload in self._after_boot:
                self._send(payload)
            self._after_boot.clear()
            self._wake.set()
            helpers = [
                asyncio.get_running_loop().create_task(self._sender(link)),
                asyncio.get_running_loop().create_task(self._heartbeats()),
            ]
            await receiver
        finally:
            self.online = False
            for t in [receiver, *helpers]:
                t.cancel()
            # Bounded: Python 3.11's wait_for (inside the library's call) swallows a cancel that races the answer
            # it was waiting for, so a cancelled task may go on; the sender then ends by itself (offline), and a
            # session never waits on its tasks for ever (it did: a power cut right as an answer came kept the twin
            # from booting again until the bench stopped it).
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait([receiver, *helpers], timeout=5.0)

    async def _heartbeats(self) -> None:
        while not self._stopping:
            await self.clock.asleep(self._heartbeat_s)
            self._send(call.Heartbeat())

    async def _sender(self, link: Link) -> None:
        """Deliver the outbox in order; transaction events stay queued until the CSMS has them.

        A transaction event that gets no answer, or a CALLERROR, is sent again after MessageAttemptInterval
        times the number of attempts so far, up to MessageAttempts in all (E13.FR.01-04; TC_E_41/42/50/51_CS).
        A CALLERROR that says the message itself is malformed (MALFORMED) is not retried: the same bytes
        would be refused the same way. Other messages are sent once.
        """
        while not self._stopping:
            while self._outbox and self.online:
                item = self._outbox[0]
                name = type(item.payload).__name__
                try:
                    reply = await link.call(item.payload, suppress=False, skip_schema_validation=item.skip_schema)
                except (OCPPError, TimeoutError) as e:
                    item.attempts += 1
                    refused = isinstance(e, OCPPError)
                    if refused:
                        self.counters.refused += 1
                    # no_retry_after_callerror: the firmware retries a silence but drops what the CSMS refused.
                    hopeless = refused and getattr(e, "code", "") in MALFORMED
                    retry = item.transactional and not hopeless
                    retry = retry and not (refused and self.faults.no_retry_after_callerror)
                    if retry and item.attempts < self.device.int("OCPPCommCtrlr", "MessageAttempts"):
                        interval = self.device.int("OCPPCommCtrlr", "MessageAttemptInterval")
                        await self.clock.asleep(interval * item.attempts)
                        continue
                    log.info(
                        "%s: %s %s; giving up after %d attempt(s)",
                        self.station.id,
                        "CSMS refused" if refused else "no answer to",
                        name,
                        item.attempts,
                    )
                except websockets.ConnectionClosed:
                    return  # the item stays at the head; the next session sends it
                else:
                    self.counters.sent[name] = self.counters.sent.get(name, 0) + 1
                    self._answered(item.payload, reply)
                if self._outbox and self._outbox[0] is item:
                    self._outbox.popleft()
            if not self.online:
                return  # the session ended (this task's cancel may have been swallowed: _session)
            self._out_ready.clear()
            await self._out_ready.wait()

    def _send(self, payload: Any, *, transactional: bool = False, skip_schema: bool = False) -> None:
        """Queue a message. Only transaction events survive being offline (they are replayed). While the
        boot is Pending, what answers the CSMS's own requests (reports) goes out at once, in order (B02)."""
        if not self.online and not transactional:
            if self._boot_link is not None and type(payload).__name__ in SENT_WHILE_PENDING:
                self._send_while_booting(self._boot_link, payload)
            return
        self._outbox.append(Outgoing(payload, transactional, skip_schema))
        self._out_ready.set()

    async def _drained(self) -> None:
        while self._outbox and self.online:
            await asyncio.sleep(0.01)

    def _send_while_booting(self, link: Link, payload: Any) -> None:
        previous = self._boot_sending

        async def send() -> None:
            if previous is not None:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await previous
            try:
                await link.call(payload, suppress=False)
            except Exception as e:  # the boot goes on; a lost report is the CSMS's to ask again
                log.info("%s: %s during boot failed: %s", self.station.id, type(payload).__name__, e)

        assert self._loop is not None
        self._boot_sending = self._loop.create_task(send())
