"""Instrument errors: each names the instrument, its address and the last command it was sent.

An instrument error is a *bench* fault. The runner reports the scenario as broken, never as a charger
failure.
"""

from __future__ import annotations


class InstrumentError(Exception):
    """A bench instrument could not do what it was asked."""

    def __init__(self, instrument: str, address: str, message: str, *,
                 last_command: str | None = None) -> None:
        self.instrument = instrument
        self.address = address
        self.last_command = last_command
        self.detail = message
        super().__init__(str(self))

    def __str__(self) -> str:
        last = f"; last command {self.last_command!r}" if self.last_command is not None else ""
        return f"instrument {self.instrument!r} at {self.address}: {self.detail}{last}"


class InstrumentTimeout(InstrumentError):
    """No answer within the instrument's timeout."""


class InstrumentConnectionLost(InstrumentError):
    """The socket or serial line closed under us."""


class InstrumentProtocolError(InstrumentError):
    """The instrument answered something that is not its protocol (garbage, ERR, wrong item count)."""


class InstrumentStateError(InstrumentError):
    """A lifecycle or state-rule violation: not open, integrator not reset, ..."""


class InstrumentConfigError(InstrumentError):
    """The bench file gives a driver an option it does not know, or a value it cannot use."""


class InstrumentRejected(InstrumentProtocolError):
    """The instrument understood the request and refused it (an ``ERR <code> <text>`` reply)."""

    def __init__(self, instrument: str, address: str, code: int, text: str, *,
                 last_command: str | None = None) -> None:
        self.code = code
        self.text = text
        super().__init__(instrument, address, f"refused with ERR {code} {text}", last_command=last_command)


class InstrumentCommandRejected(InstrumentRejected):
    """A SCPI instrument refused a command: its error queue (or its event status register) says why.

    `command` is the command refused, `errors` every (code, text) the instrument reported for it, in order;
    `code` and `text` are the first of them.
    """

    def __init__(self, instrument: str, address: str, command: str, errors: tuple[tuple[int, str], ...], *,
                 source: str, context: str = "") -> None:
        self.command = command
        self.errors = errors
        self.code, self.text = errors[0]
        reported = "; ".join(f'{code},"{text}"' for code, text in errors)
        InstrumentProtocolError.__init__(
            self, instrument, address,
            f"{context or 'the instrument rejected'} {command!r}: {reported} (read with {source})",
            last_command=command)


class InstrumentUnsupported(InstrumentConfigError):
    """The bench asks an instrument for something its protocol cannot do (a missing feature, not a fault).

    It is a configuration error: the bench file gives the role a driver that cannot play it, so the fix is
    a different emulator or analyzer, not a retry."""
