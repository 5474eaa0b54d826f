"""A scenario that started and did not finish still shows in the Allure results, as broken "did not finish".

allure-pytest writes a test's result only when the test ends, so a run killed with SIGKILL (or a power cut)
left no trace of the scenario it was running. When a scenario starts, :class:`ProvisionalResults` writes a
provisional result for it (status *broken*, "did not finish"), atomically, under the test's own uuid; when
allure-pytest writes the real result, the provisional one is removed at once (an ``allure_commons`` hook
that runs after the file writer). Between those two file operations a kill would leave both: a window of
microseconds, against a scenario's seconds to hours.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
from pathlib import Path
from typing import Any

import allure_commons
import attr
from allure_commons.model2 import Status, StatusDetails, TestResult
from allure_commons.utils import now


class ProvisionalResults:
    def __init__(self, alluredir: Path) -> None:
        self.dir = alluredir
        self._pending: dict[str, Path] = {}

    def write(self, result: TestResult, message: str) -> None:
        """Write `result` (the test's Allure result as it stands now) as broken with `message`."""
        stand_in = copy.deepcopy(result)
        stand_in.status = Status.BROKEN
        stand_in.statusDetails = StatusDetails(message=message)
        stand_in.stop = now()
        stand_in.steps = []
        stand_in.attachments = []
        data: dict[str, Any] = attr.asdict(stand_in, filter=lambda _, v: v or v is False)
        path = self.dir / f"{result.uuid}-result.json"  # allure-pytest names its own files by fresh uuids
        tmp = self.dir / f".{result.uuid}.provisional.tmp"
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
        self._pending[result.uuid] = path

    @allure_commons.hookimpl(trylast=True)  # after AllureFileLogger has written the real result
    def report_result(self, result: TestResult) -> None:
        path = self._pending.pop(result.uuid, None)
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def current_result(config: Any) -> TestResult | None:
    """The Allure result of the test now running, or None when allure-pytest is not writing results."""
    listener = config.pluginmanager.get_plugin("allure_listener")
    if listener is None:
        return None
    result = listener.allure_logger.get_test(None)  # the test last scheduled: the one in its call phase
    return result if isinstance(result, TestResult) else None
