"""Opening the upstream connection to the target CSMS under the charger's identity.

    kwargs = upstream_options(proxy_config, charger_request)
    url = upstream_url(proxy_config.to, "CS1")          # "wss://target/ocpp/CS1"

The charger's own subprotocol offer is repeated (the backend picks, and the charger gets the backend's
pick). Basic auth (security profiles 1 and 2): the charger's own Authorization header is forwarded, unless
the bench file gives an upstream `password` (then `<identity>:<password>`). TLS (wss://, profiles 2 and 3):
the backend's certificate is verified against `cafile` (default: the system's roots); profile 3 upstream
presents the bench's client certificate — one the operator issues for the bench, since the charger's private
key never leaves the charger.
"""

from __future__ import annotations

import base64
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import quote

from websockets.http11 import Request

from lab.bench import ProxyConfig
from runner.csms.security import SecurityConfigError


def upstream_url(target: str, station: str) -> str:
    """The target URL with the charger's identity as its last path segment (OCPP-J §3.1)."""
    return f"{target.rstrip('/')}/{quote(station, safe='')}"


def client_tls_context(config: ProxyConfig) -> ssl.SSLContext | None:
    """The upstream TLS context (None for ws://); raises SecurityConfigError naming a missing file."""
    if not config.to.startswith("wss://"):
        return None
    for what, path in (("cafile", config.cafile), ("client_certfile", config.client_certfile),
                       ("client_keyfile", config.client_keyfile)):
        if path and not Path(path).is_file():
            raise SecurityConfigError(f"[proxy] {what} = {path!r}: no such file")
    ctx = ssl.create_default_context(cafile=config.cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2   # OCPP 2.0.1 A00.FR.3xx: TLS 1.2 or newer
    if config.client_certfile:
        ctx.load_cert_chain(config.client_certfile, config.client_keyfile)
    return ctx


def upstream_headers(config: ProxyConfig, station: str, request: Request) -> list[tuple[str, str]]:
    """The Authorization header to send upstream: the configured password, else the charger's own."""
    if config.password is not None:
        token = base64.b64encode(f"{station}:{config.password}".encode()).decode()
        return [("Authorization", f"Basic {token}")]
    auth = request.headers.get("Authorization")
    return [("Authorization", auth)] if auth else []


def offered_subprotocols(request: Request) -> list[str]:
    """The subprotocols the charger offered, in its order."""
    return [p.strip() for h in request.headers.get_all("Sec-WebSocket-Protocol") for p in h.split(",") if p.strip()]


def connect_options(config: ProxyConfig, station: str, request: Request,
                    tls: ssl.SSLContext | None) -> dict[str, Any]:
    """Keyword arguments for websockets' `connect` (the URL apart)."""
    options: dict[str, Any] = {
        "subprotocols": offered_subprotocols(request) or None,
        "additional_headers": upstream_headers(config, station, request),
        "open_timeout": config.connect_timeout_s,
        "ping_interval": None,       # keep-alive is the charger's Heartbeat, relayed
        "max_size": None,            # the backend's frames are relayed whatever their size
        "user_agent_header": request.headers.get("User-Agent"),
        "compression": None,         # frames pass unchanged; no extension the charger did not ask for
    }
    if tls is not None:
        options["ssl"] = tls
    return options
