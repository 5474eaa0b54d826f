"""OCPP 2.0.1 security profiles on the CSMS side: TLS contexts and HTTP Basic authentication.

Profile 1: HTTP Basic auth over ws://; profile 2: TLS (server certificate) + Basic auth; profile 3: mutual
TLS (the charger shows a certificate issued by the CA in `cafile`), no Basic auth. The Basic-auth user
name is the charging station identity (TC_A_02_CSMS); TLS is 1.2 or newer (A00.FR.3xx/4xx).

    ctx = server_tls_context(config)                 # None for profiles 0 and 1
    check = check_basic_auth(config, "CS1", request.headers.get("Authorization"))
    check.ok, check.reason                           # False, "wrong password for 'CS1' (12 characters sent)"
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.bench import CsmsConfig

# SecurityCtrlr.BasicAuthPassword: 16 to 40 characters (OCPP 2.0.1 part 2 appendices, TC_A_01_CS).
PASSWORD_MIN, PASSWORD_MAX = 16, 40


class SecurityConfigError(ValueError):
    """The bench file's [csms] security settings cannot work (missing or unreadable files)."""


@dataclass(frozen=True)
class AuthCheck:
    ok: bool
    reason: str                  # why it failed, or how it passed ("basic auth as 'CS1'")
    username: str | None = None
    note: str | None = None      # passed, but worth a warning (e.g. password length out of bounds)


def uses_basic_auth(config: CsmsConfig) -> bool:
    return config.security_profile in (1, 2)


def uses_tls(config: CsmsConfig) -> bool:
    return config.security_profile in (2, 3)


def expected_password(config: CsmsConfig, station: str) -> str | None:
    """The password the bench file gives `station`: its own entry in `passwords`, else `password`."""
    return config.passwords.get(station, config.password)


def _readable(what: str, path: str | None) -> str:
    if not path:
        raise SecurityConfigError(f"[csms] {what} is required for security profile 2 and 3 (TLS)")
    if not Path(path).is_file():
        raise SecurityConfigError(f"[csms] {what} = {path!r}: no such file")
    return path


def server_tls_context(config: CsmsConfig) -> ssl.SSLContext | None:
    """The server-side TLS context for profiles 2 and 3 (None otherwise). Raises SecurityConfigError."""
    if not uses_tls(config):
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    certfile = _readable("certfile", config.certfile)
    try:
        ctx.load_cert_chain(certfile, config.keyfile or None)
    except (ssl.SSLError, OSError) as e:
        raise SecurityConfigError(f"[csms] cannot load the server certificate {certfile!r} with key "
                                  f"{config.keyfile or '(in the certificate file)'!r}: {e}") from None
    if config.security_profile == 3:
        cafile = _readable("cafile (the CA that issued the chargers' certificates)", config.cafile)
        try:
            ctx.load_verify_locations(cafile)
        except (ssl.SSLError, OSError) as e:
            raise SecurityConfigError(f"[csms] cannot load cafile {cafile!r}: {e}") from None
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def check_basic_auth(config: CsmsConfig, station: str, authorization: str | None) -> AuthCheck:
    """Judge the Authorization header of a charger's upgrade request against the bench file."""
    profile = config.security_profile
    expected = expected_password(config, station)
    if expected is None:
        return AuthCheck(False, f"the bench file has no password for {station!r} (set [csms] password or "
                                f"[csms.passwords] {station!r})")
    if not authorization:
        return AuthCheck(False, f"no Authorization header; security profile {profile} requires HTTP Basic "
                                "authentication with the charging station identity as user name")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "basic":
        return AuthCheck(False, f"Authorization scheme {scheme!r} is not Basic")
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return AuthCheck(False, "Authorization header is not base64 of UTF-8 'identity:password'")
    username, sep, password = decoded.partition(":")
    if not sep:
        return AuthCheck(False, "Authorization credentials have no ':' between user name and password")
    if username != station:
        return AuthCheck(False, f"user name {username!r} is not the charging station identity {station!r} "
                                "from the URL (TC_A_02_CSMS)", username)
    if not hmac.compare_digest(password.encode(), expected.encode()):
        return AuthCheck(False, f"wrong password for {station!r} ({len(password)} characters sent)", username)
    note = None
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        note = (f"password accepted, but it has {len(password)} characters; SecurityCtrlr.BasicAuthPassword "
                f"must have {PASSWORD_MIN} to {PASSWORD_MAX} (TC_A_01_CS)")
    return AuthCheck(True, f"basic auth as {username!r}", username, note)


def certificate_summary(peercert: dict[str, Any] | None) -> dict[str, str]:
    """Subject common name, organisation, issuer CN and serial of a verified peer certificate."""
    if not peercert:
        return {}

    def rdn(name: Any, key: str) -> str:
        for group in name or ():
            for k, v in group:
                if k == key:
                    return str(v)
        return ""
    return {"subject_cn": rdn(peercert.get("subject"), "commonName"),
            "subject_o": rdn(peercert.get("subject"), "organizationName"),
            "issuer_cn": rdn(peercert.get("issuer"), "commonName"),
            "serial": str(peercert.get("serialNumber", "")),
            "not_after": str(peercert.get("notAfter", ""))}
