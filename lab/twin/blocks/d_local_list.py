"""OCPP 2.0.1 block D, the Local Authorization List: SendLocalList (D01) and GetLocalListVersion (D02).

The list is the CSMS's: only SendLocalList changes it (an AuthorizeResponse or TransactionEventResponse
updates the cache, never the list). It is non-volatile, like the cache. Authorization
(lab/twin/blocks/c_authorization.py) looks an idToken up here before the cache (C13, C14):

- Full: the list becomes exactly the entries sent (an entry without idTokenInfo counts as Accepted: the
  catalogue's IdTokenLocalAuthList memory state sends none), with the version sent.
- Differential: entries with idTokenInfo are added or replaced, entries without are removed; a version not
  above the list's is refused with VersionMismatch (the list is unchanged) (D01.FR.16, 17, 19).
- Refused with Failed, the list unchanged: a versionNumber of 0 or below (D01.FR.18: 0 means "no list" to
  GetLocalListVersion, so a list may never carry it), an idToken twice in one request (D01.FR.06: entries
  are unique), more entries than LocalAuthListCtrlr.ItemsPerMessage or a list that would outgrow
  LocalAuthListCtrlr.Entries' maxLimit (reasonCode TooManyElements, as the appendix's reason codes name it).
- While LocalAuthListCtrlr.Enabled is false the list is not used and SendLocalList answers Failed;
  GetLocalListVersion answers 0 then, and for a list never sent (D02).
"""

from __future__ import annotations

import json
from typing import Any

from lab.twin.blocks.core import ChargerCore
from lab.twin.blocks.state import token_key
from lab.twin.device_model import LOCAL_LIST_MAX_ENTRIES

Refusal = tuple[str, str | None, str | None]  # status, reasonCode, additionalInfo


class LocalList(ChargerCore):
    def _list_on(self) -> bool:
        return self.device.bool("LocalAuthListCtrlr", "Enabled")

    def _listed(self, id_token: dict[str, Any]) -> dict[str, Any] | None:
        """The idTokenInfo the Local Authorization List holds for the idToken (None: not in it, or off)."""
        if not self._list_on():
            return None
        return self.local_list.get(token_key(id_token))

    def on_send_local_list(self, version: int, update_type: str,
                           entries: list[dict[str, Any]] | None) -> Refusal:
        """D01: (status, reasonCode, additionalInfo); the last two None when there is nothing to say."""
        if not self._list_on():
            return "Failed", "NotEnabled", "LocalAuthListCtrlr.Enabled is false"
        entries = entries or []
        refused = self._refusal(version, entries)
        if refused is not None:
            return refused
        if update_type == "Full":
            self.local_list = {token_key(x["id_token"]): dict(x.get("id_token_info") or {"status": "Accepted"})
                               for x in entries}
            self.local_list_version = version
            return "Accepted", None, None
        if version <= self.local_list_version:
            return "VersionMismatch", None, None
        merged = dict(self.local_list)
        for x in entries:
            if x.get("id_token_info"):
                merged[token_key(x["id_token"])] = dict(x["id_token_info"])
            else:
                merged.pop(token_key(x["id_token"]), None)
        if len(merged) > LOCAL_LIST_MAX_ENTRIES:
            return ("Failed", "TooManyElements",
                    f"the list would hold {len(merged)} idTokens; it holds at most {LOCAL_LIST_MAX_ENTRIES}")
        self.local_list, self.local_list_version = merged, version
        return "Accepted", None, None

    def _refusal(self, version: int, entries: list[dict[str, Any]]) -> Refusal | None:
        """Why a SendLocalList is Failed whatever its updateType, or None."""
        if version <= 0:
            return "Failed", "InvalidValue", f"versionNumber {version}: it must be above 0 (D01.FR.18)"
        most = min(self.device.int("LocalAuthListCtrlr", "ItemsPerMessage"), LOCAL_LIST_MAX_ENTRIES)
        if len(entries) > most:
            return "Failed", "TooManyElements", f"{len(entries)} entries; at most {most} per SendLocalList"
        seen: set[tuple[str, str]] = set()
        for x in entries:
            key = token_key(x["id_token"])
            if key in seen:  # (IdTokenType: a case insensitive identifier, "04a2" and "04A2" are one token)
                return ("Failed", "InvalidValue",
                        f"idToken {x['id_token'].get('id_token')!r} ({key[1]}) twice in one list (D01.FR.06)")
            seen.add(key)
        return None

    def _list_storage(self) -> str:
        """LocalAuthListCtrlr.Storage: the bytes the list takes, as the JSON it is kept in."""
        kept = [[token, kind, info] for (token, kind), info in sorted(self.local_list.items())]
        return str(len(json.dumps(kept, separators=(",", ":")).encode())) if kept else "0"

    def on_get_local_list_version(self) -> int:
        """D02: the version of the list, 0 while there is none in use."""
        return self.local_list_version if self._list_on() else 0
