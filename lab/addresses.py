"""The forms of an instrument address a bench file may give, checked before anything opens.

A power analyzer is opened through pyvisa: its address is a VISA resource string, parsed with pyvisa's
own parser (``TCPIP0::192.0.2.10::inst0::INSTR``, ``TCPIP0::192.0.2.10::10001::SOCKET``,
``USB0::0x0B21::0x0025::C2XY00123::INSTR``, ``GPIB0::7::INSTR``, ``ASRL/dev/ttyUSB0::INSTR``).
An EV emulator is opened through pyserial: a device (``/dev/ttyUSB0``, ``COM3``) or a pyserial URL
(``socket://host:port``, ``rfc2217://host:port``, ``loop://``, ``spy://<device>``). ``twin`` is filled in
by the twin bench. Each check returns why an address is malformed, or None.

    address_problem("TCPIP0::10.0.0.5::SOCKET", "analyzer")
    # "not a VISA resource string: ... (port part is mandatory)"
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

TWIN = "twin"

_SERIAL_SCHEMES = ("socket", "rfc2217", "loop", "spy")
_COM = re.compile(r"COM[1-9][0-9]{0,2}", re.IGNORECASE)
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)")


def address_problem(address: str, kind: str) -> str | None:
    """Why `address` cannot be an address for an instrument of `kind` ('analyzer' or 'ev'), or None."""
    if address == TWIN:
        return None
    if not address.strip() or address != address.strip():
        return f"{address!r}: empty, or blank at either end"
    return visa_problem(address) if kind == "analyzer" else serial_problem(address)


def visa_problem(resource: str) -> str | None:
    """pyvisa's resource-name parser, plus a numeric port for sockets (it accepts any word there)."""
    from pyvisa import rname  # imported here: ~0.2 s, only for a bench that names a real analyzer

    try:
        parsed = rname.parse_resource_name(resource)
    except rname.InvalidResourceName as e:
        return (f"not a VISA resource string: {str(e).rstrip('.')}; e.g. TCPIP0::192.0.2.10::inst0::INSTR (VXI-11) or "
                "TCPIP0::192.0.2.10::10001::SOCKET")
    if isinstance(parsed, rname.TCPIPSocket):
        port = parsed.port
        if not port.isdigit() or not 0 < int(port) < 65536:
            return f"{resource!r}: port {port!r} is not a TCP port (1 to 65535)"
    host = getattr(parsed, "host_address", None)
    if host is not None and not _HOST.fullmatch(host):
        return f"{resource!r}: {host!r} is not a host name or IP address"
    return None


def serial_problem(url: str) -> str | None:
    """A serial device or one of the pyserial URL forms the EV emulator drivers are used with."""
    if "://" not in url:
        if url.startswith("/dev/") and len(url) > len("/dev/") and " " not in url:
            return None
        if _COM.fullmatch(url):
            return None
        return (f"{url!r} is not a serial port or pyserial URL; e.g. /dev/ttyUSB0, COM3, "
                "socket://192.0.2.20:4001, rfc2217://192.0.2.20:4001")
    scheme, rest = url.split("://", 1)
    if scheme not in _SERIAL_SCHEMES:
        return f"{url!r}: unknown pyserial URL scheme {scheme!r}; known: " + ", ".join(
            f"{s}://" for s in _SERIAL_SCHEMES)
    if scheme == "loop":
        return None if rest == "" or rest.startswith("?") else f"{url!r}: loop:// takes no address"
    if scheme == "spy":
        inner = rest.split("?", 1)[0]
        problem = serial_problem(inner) if inner else "no port"
        return None if problem is None else f"{url!r}: spy:// wraps a serial device, e.g. spy:///dev/ttyUSB0"
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or ""
    if parts.path not in ("", "/") or not host or port is None or port == 0 \
            or not _HOST.fullmatch(host if ":" not in host else f"[{host}]"):
        return f"{url!r}: expected {scheme}://HOST:PORT (port 1 to 65535), e.g. {scheme}://192.0.2.20:4001"
    return None
