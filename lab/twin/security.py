"""The virtual charger's side of the OCPP 2.0.1 security profiles, from the bench file's [csms] table.

Profile 0: plain ws://. Profile 1: HTTP Basic auth (user = station identity) over ws://. Profile 2: Basic
auth over wss://, the CSMS certificate checked against `cafile` (host name included). Profile 3: wss://
with the charger's own certificate (`client_certfile`, `client_keyfile`), no Basic auth. The password is
`passwords[<station>]`, else `password`; the charger keeps it as SecurityCtrlr.BasicAuthPassword, so a
CSMS that changes it with SetVariables is answered with the new one at the next connection.

    sec = ChargerSecurity.from_bench(bench.csms, "CS1")
    sec.check_url("wss://127.0.0.1:8443")      # TwinSecurityError if the profile needs another scheme
    ctx = sec.tls_context()                     # None for profiles 0 and 1; loads the files once
    sec.headers("0123456789abcdef")             # {"Authorization": "Basic Q1M..."}
"""

from __future__ import annotations

import base64
import re
import ssl
from dataclasses import dataclass
from pathlib import Path

from lab.bench import CsmsConfig
from lab.twin.device_model import PASSWORD_CHAR, PASSWORD_PATTERN


class TwinSecurityError(ValueError):
    """The bench file's [csms] settings do not let the twin's charger connect at its security profile."""


@dataclass(frozen=True)
class ChargerSecurity:
    profile: int
    station_id: str
    password: str | None = None
    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None

    @classmethod
    def from_bench(cls, csms: CsmsConfig, station_id: str) -> ChargerSecurity:
        return cls(
            profile=csms.security_profile,
            station_id=station_id,
            password=csms.passwords.get(station_id, csms.password),
            cafile=csms.cafile,
            certfile=csms.client_certfile,
            keyfile=csms.client_keyfile,
        )

    @property
    def basic_auth(self) -> bool:
        return self.profile in (1, 2)

    @property
    def tls(self) -> bool:
        return self.profile in (2, 3)

    def check_url(self, url: str) -> None:
        scheme = url.split("://", 1)[0].lower()
        want = "wss" if self.tls else "ws"
        if scheme != want:
            raise TwinSecurityError(
                f"station {self.station_id}: security profile {self.profile} connects over {want}://, but the "
                f"CSMS URL is {url!r}; give the CSMS the same [csms] security_profile as the twin"
            )

    def check_password(self) -> None:
        """Profiles 1 and 2: the bench's password must be one a charger may present (TwinSecurityError if not):
        16 to 40 characters of passwordString's set (A00.FR.205, SecurityCtrlr.BasicAuthPassword; TC_A_01_CS
        checks it), so the twin never shows a CSMS a password no conformant charger could have."""
        if not self.basic_auth:
            return
        if self.password is None:
            raise TwinSecurityError(
                f"station {self.station_id}: security profile {self.profile} needs a Basic-auth password; set "
                f"[csms] password or [csms.passwords] {self.station_id!r} in the bench file"
            )
        if not re.fullmatch(PASSWORD_PATTERN, self.password):
            bad = sorted({c for c in self.password if not re.fullmatch(PASSWORD_CHAR, c)})
            why = f"it has {len(self.password)} characters" + (f", and {''.join(bad)!r} is not allowed" if bad else "")
            raise TwinSecurityError(
                f"station {self.station_id}: the Basic-auth password for security profile {self.profile} must be 16 "
                f"to 40 characters of a-z A-Z 0-9 * - _ = : + | @ . (OCPP 2.0.1 BasicAuthPassword); {why}"
            )

    def headers(self, password: str | None) -> dict[str, str]:
        """The upgrade request's Authorization header (profiles 1 and 2), with `password` (the current one)."""
        if not self.basic_auth:
            return {}
        if password is None:
            raise TwinSecurityError(
                f"station {self.station_id}: security profile {self.profile} needs a Basic-auth password; set "
                f"[csms] password or [csms.passwords] {self.station_id!r} in the bench file"
            )
        token = base64.b64encode(f"{self.station_id}:{password}".encode()).decode("ascii")
        return {"Authorization": f"Basic {token}"}

    def tls_context(self) -> ssl.SSLContext | None:
        """The client TLS context for profiles 2 and 3 (None otherwise). Raises TwinSecurityError."""
        if not self.tls:
            return None
        cafile = _readable(self, "cafile", self.cafile, "the CA the twin's charger trusts for the CSMS certificate")
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2  # OCPP 2.0.1 profiles 2 and 3: TLS 1.2 or newer
        try:
            ctx.load_verify_locations(cafile)
        except (ssl.SSLError, OSError) as e:
            raise TwinSecurityError(f"station {self.station_id}: cannot load [csms] cafile {cafile!r}: {e}") from None
        if self.profile == 3:
            certfile = _readable(self, "client_certfile", self.certfile, "the twin charger's client certificate")
            try:
                ctx.load_cert_chain(certfile, self.keyfile or None)
            except (ssl.SSLError, OSError) as e:
                raise TwinSecurityError(
                    f"station {self.station_id}: cannot load the charger certificate {certfile!r} with key "
                    f"{self.keyfile or '(in the certificate file)'!r} ([csms] client_certfile, client_keyfile): {e}"
                ) from None
        return ctx


def _readable(sec: ChargerSecurity, key: str, path: str | None, what: str) -> str:
    if not path:
        raise TwinSecurityError(
            f"station {sec.station_id}: security profile {sec.profile} needs [csms] {key} ({what}) in the bench file"
        )
    if not Path(path).is_file():
        raise TwinSecurityError(f"station {sec.station_id}: [csms] {key} = {path!r}: no such file ({what})")
    return path
