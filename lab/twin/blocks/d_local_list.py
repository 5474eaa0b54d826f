"""OCPP 2.0.1 block D, the Local Authorization List: SendLocalList (D01) and GetLocalListVersion (D02).

The list is the CSMS's: only SendLocalList changes it (an AuthorizeResponse or TransactionEventResponse
updates the cache, never the list). It is non-volatile, like the cache. Authorization
(lab/twin/blocks/c_authorization.py) looks an idToken up here before the cache (C13, C14):

- Full: the list becomes exactly the entries sent (an entry without idTokenInfo counts as Accepted: the
  catalogue's IdTokenLocalAuthList memory state sends none), with the version sent.
- Differential: entries with idTokenInfo are added or replaced, entries without are removed; a version not
  above the list's is refused with VersionMismatch (the list is unchanged).
- While LocalAuthListCtrlr.Enabled is false the list is not used and SendLocalList answers Failed;
  GetLocalListVersion answers 0 then, and for a list never sent.
"""

from __future__ import annotations

from typing import Any

from lab.twin.blocks.core import ChargerCore

MAX_ENTRIES = 1000  # LocalAuthListCtrlr.Entries maxLimit


def _key(id_token: dict[str, Any]) -> tuple[str, str]:
    return str(id_token.get("id_token", "")), str(id_token.get("type", ""))


class LocalList(ChargerCore):
    def _list_on(self) -> bool:
        return self.device.bool("LocalAuthListCtrlr", "Enabled")

    def _listed(self, id_token: dict[str, Any]) -> dict[str, Any] | None:
        """The idTokenInfo the Local Authorization List holds for the idToken (None: not in it, or off)."""
        if not self._list_on():
            return None
        return self.local_list.get(_key(id_token))

    def on_send_local_list(self, version: int, update_type: str,
                           entries: list[dict[str, Any]] | None) -> tuple[str, str | None]:
        """D01: (status, reasonCode for statusInfo or None)."""
        if not self._list_on():
            return "Failed", "NotEnabled"
        entries = entries or []
        if update_type == "Full":
            if len(entries) > MAX_ENTRIES:
                return "Failed", "TooManyEntries"
            self.local_list = {_key(x["id_token"]): dict(x.get("id_token_info") or {"status": "Accepted"})
                               for x in entries}
            self.local_list_version = version
            return "Accepted", None
        if version <= self.local_list_version:
            return "VersionMismatch", None
        merged = dict(self.local_list)
        for x in entries:
            if x.get("id_token_info"):
                merged[_key(x["id_token"])] = dict(x["id_token_info"])
            else:
                merged.pop(_key(x["id_token"]), None)
        if len(merged) > MAX_ENTRIES:
            return "Failed", "TooManyEntries"
        self.local_list, self.local_list_version = merged, version
        return "Accepted", None

    def on_get_local_list_version(self) -> int:
        """D02: the version of the list, 0 while there is none in use."""
        return self.local_list_version if self._list_on() else 0
