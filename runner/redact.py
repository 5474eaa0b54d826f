"""One redaction rule for everything that leaves the process: evidence files, Allure, console and logs.

What is secret:
- **id tokens**: the value of every ``idToken`` / ``additionalIdToken`` string in an OCPP payload, and the
  tokens a spec uses (``session starts with token "…"``, ``csms blocks token "…"``, idToken fields of
  ``csms sends`` and ``expect charger sends``);
- **passwords and keys**: the value set to, read from or reported for a variable whose name says
  password, key or secret (``SecurityCtrlr.BasicAuthPassword``), any payload key that says password,
  secret or private key, and the bench file's Basic-auth passwords;
- **private keys**: every PEM ``PRIVATE KEY`` block, and the credentials of an HTTP ``Basic`` header.

How it is masked: ``[token#3fa9c1]`` (or ``password#``, ``key#``, ``secret#``): the kind, then the first
6 hex digits of an HMAC-SHA-256 of the value under a per-run random salt. A reader can tell two tokens
apart and follow one through a run (the same value masks the same everywhere in a run, across pytest-xdist
workers too, who inherit the salt through ``$CHARGESPEC_REDACT_SALT``), but cannot recover or confirm a
value, not even a short one (keeping its last characters would give part of a 4-byte RFID UID away,
and two tokens with the same ending would read alike). Masks differ between runs.

Where it applies (each a boundary, so no call site has to remember):
- structurally, to OCPP payloads (:func:`payload`, :func:`raw`): what the structure says is secret is
  masked, and the value is learnt, so it is masked wherever it turns up later;
- textually, to any string (:func:`text`): every value learnt so far (from the spec's plan, the bench
  file, the payloads seen) of at least :data:`MIN_LITERAL` characters, in plain and JSON-escaped form,
  plus PEM private keys and Basic credentials.
The recorder applies it to every line it writes (ocpp.jsonl, events.jsonl, samples.csv); evidence to
notes, the spec excerpt and every Allure title, parameter, description and step name; the pytest plugin
(:func:`install`) learns each scenario's secrets before it starts and masks failure messages and
tracebacks (console, Allure, JUnit), captured output and log records. The plan cache never holds a
spec's secrets in clear: it is sealed (dsl/seal.py).

Not covered: a secret in a spec or scenario *name* is in pytest's node id (the console's test names, the
pytest cache, Allure's fullName); keep tokens out of names (use them in statements).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from dsl.plan import field_objects, plain_variants

if TYPE_CHECKING:
    import pytest

    from dsl.plan import ScenarioPlan
    from lab.bench import BenchConfig

SALT_ENV = "CHARGESPEC_REDACT_SALT"
MIN_LITERAL = 4  # shorter values are masked where the structure says so, not by search through all text
TOKEN_KEYS = frozenset({"idToken", "additionalIdToken"})
# A payload key whose value is secret wherever it appears.
_SECRET_KEY = re.compile(r"password|passwd|secret|private_?key", re.IGNORECASE)
# A device-model variable whose value is secret (its name says so).
_SECRET_VARIABLE = re.compile(r"password|passwd|secret|(?<!public)key", re.IGNORECASE)
_PEM_KEY = re.compile(r"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.DOTALL)
_BASIC = re.compile(r"(\bBasic\s+)([A-Za-z0-9+/]{8,}={0,2})")

# The statements whose arguments are secrets, by the statement's name in dsl/statements.py.
_TOKEN_STEPS = {"session.starts": "token", "csms.blocks_token": "token"}


def secret_variable(name: str) -> bool:
    """Whether a device-model variable (``Component.Variable`` or the variable's own name) holds a secret."""
    return bool(_SECRET_VARIABLE.search(name.rsplit(".", 1)[-1]))


class Redactor:
    """The rule, with the values learnt so far. Thread-safe: the bench loop and the test thread use it."""

    def __init__(self, salt: bytes) -> None:
        self._salt = salt
        self._lock = threading.Lock()
        self._known: dict[str, str] = {}  # value (as it may appear in text) -> its mask
        self._pattern: re.Pattern[str] | None = None

    def mask(self, value: str, kind: str = "token") -> str:
        digest = hmac.new(self._salt, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
        return f"[{kind}#{digest[:6]}]"

    def learn(self, value: Any, kind: str = "token") -> str:
        """Remember a secret value; returns its mask."""
        if not isinstance(value, str) or not value:
            return value
        masked = self.mask(value, kind)
        forms = {value, json.dumps(value)[1:-1], repr(value)[1:-1]}
        with self._lock:
            new = [f for f in forms if len(f) >= MIN_LITERAL and f not in self._known]
            for f in new:
                self._known[f] = masked
            if new:
                self._pattern = None
        return masked

    def known(self) -> int:
        with self._lock:
            return len(self._known)

    def text(self, s: str) -> str:
        """`s` with every learnt value, private key and Basic credential masked."""
        if not s:
            return s
        with self._lock:
            if self._pattern is None and self._known:
                alts = sorted(self._known, key=len, reverse=True)  # longest first: no partial masks
                self._pattern = re.compile("|".join(map(re.escape, alts)))
            pattern, known = self._pattern, self._known
        if pattern is not None:
            s = pattern.sub(lambda m: known[m.group(0)], s)
        if "PRIVATE KEY" in s:
            s = _PEM_KEY.sub(lambda m: self.mask(m.group(0), "key"), s)
        if "Basic" in s:
            s = _BASIC.sub(lambda m: m.group(1) + self.mask(m.group(2), "password"), s)
        return s

    def payload(self, obj: Any) -> Any:
        """A copy of an OCPP payload (or a whole frame) with its secret values masked (and learnt)."""
        if isinstance(obj, list):
            return [self.payload(v) for v in obj]
        if not isinstance(obj, dict):
            return obj
        variable = obj.get("variable")
        secret_var = isinstance(variable, dict) and isinstance(variable.get("name"), str) \
            and secret_variable(variable["name"])
        out: dict[str, Any] = {}
        for k, v in obj.items():
            if isinstance(v, str) and k in TOKEN_KEYS:
                out[k] = self.learn(v, "token")
            elif isinstance(v, str) and isinstance(k, str) and _SECRET_KEY.search(k):
                out[k] = self.learn(v, "password" if "pass" in k.lower() else "secret")
            elif secret_var and k == "attributeValue" and isinstance(v, str):
                out[k] = self.learn(v, "password")
            elif secret_var and k == "variableAttribute" and isinstance(v, list):
                out[k] = [{**a, "value": self.learn(a["value"], "password")}
                          if isinstance(a, dict) and isinstance(a.get("value"), str) else self.payload(a)
                          for a in v]
            else:
                out[k] = self.payload(v)
        return out

    def raw(self, raw: str) -> str:
        """An OCPP-J frame as text: structurally redacted if it is JSON, then textually."""
        try:
            msg = json.loads(raw)
            masked = json.dumps(self.payload(msg), separators=(",", ":"), ensure_ascii=False)
        except (ValueError, RecursionError):  # not JSON, or nested past the stack: masked as text
            return self.text(raw)
        return self.text(masked)


def _salt() -> bytes:
    value = os.environ.get(SALT_ENV)
    if not value:
        value = secrets.token_hex(16)
        os.environ[SALT_ENV] = value  # pytest-xdist workers and subprocesses of this run inherit it
    return value.encode()


REDACTOR = Redactor(_salt())


def text(s: str) -> str:
    return REDACTOR.text(s)


def payload(obj: Any) -> Any:
    return REDACTOR.payload(obj)


def raw(frame: str) -> str:
    return REDACTOR.raw(frame)


def learn(value: Any, kind: str = "token") -> str:
    return REDACTOR.learn(value, kind)


# ---- what a plan and a bench hold ------------------------------------------------------------------------


def register_plan(plan: ScenarioPlan) -> None:
    """Learn the secrets a scenario's statements carry, before any of its text leaves the process."""
    for step in _walk_steps((*plan.setup, *plan.steps, *plan.teardown)):
        name = getattr(step, "step", None)
        args: Mapping[str, Any] = getattr(step, "args", None) or {}
        if name in _TOKEN_STEPS:
            learn(args.get(_TOKEN_STEPS[name]), "token")
        elif name == "csms.sets_variable" and secret_variable(str(args.get("variable", ""))):
            learn(args.get("value"), "password")
        for value in (args.get("fields"), *field_objects(step)):  # (patterns: each value they name)
            if isinstance(value, Mapping):
                for variant in plain_variants(value):
                    payload(_plain(variant))


def _walk_steps(steps: Iterable[Any]) -> Iterable[Any]:
    for s in steps:
        yield s
        yield from _walk_steps(getattr(s, "body", ()) or ())


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def register_bench(config: BenchConfig) -> None:
    """Learn the bench file's Basic-auth passwords (however they were given)."""
    csms = config.csms
    learn(csms.password, "password")
    for value in csms.passwords.values():
        learn(value, "password")


# ---- the pytest boundary ---------------------------------------------------------------------------------


class _RedactedRecord(logging.LogRecord):
    def getMessage(self) -> str:
        return REDACTOR.text(super().getMessage())


def exception(exc: BaseException) -> None:
    """Mask the exception's own message in place (Allure reads it with ``exconly()``)."""
    if not exc.args:
        return
    masked = tuple(REDACTOR.text(a) if isinstance(a, str) else a for a in exc.args)
    if masked != exc.args:
        exc.args = masked
        if isinstance(getattr(exc, "detail", None), str):
            exc.detail = REDACTOR.text(exc.detail)  # type: ignore[attr-defined]


def _makereport(item: Any, call: Any) -> Any:
    """Innermost around pytest's report: the failure text (console, Allure trace, JUnit), the exception
    message (Allure's status message) and captured output and logs are masked before any reporter reads
    them."""
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is not None:
        exception(call.excinfo.value)
    if isinstance(report.longrepr, str):
        report.longrepr = REDACTOR.text(report.longrepr)
    elif report.longrepr is not None and not isinstance(report.longrepr, tuple):
        rendered = str(report.longrepr)
        masked = REDACTOR.text(rendered)
        if masked != rendered:
            report.longrepr = masked
    report.sections = [(title, REDACTOR.text(content)) for title, content in report.sections]


def _learn_item(item: Any) -> None:
    """Before a scenario's setup: learn the secrets its plan carries, so that its title, steps, evidence
    and failure text are masked from the first line."""
    plan = getattr(item, "plan", None)
    if plan is not None and hasattr(plan, "setup"):
        register_plan(plan)


def install(config: pytest.Config) -> None:
    """Apply the rule to pytest's reports and to every log record of this process (once)."""
    import pytest

    if config.pluginmanager.has_plugin("chargespec-redact"):
        return
    class RedactPlugin:
        pytest_runtest_makereport = staticmethod(pytest.hookimpl(hookwrapper=True, trylast=True)(_makereport))
        pytest_runtest_setup = staticmethod(pytest.hookimpl(tryfirst=True)(_learn_item))

    config.pluginmanager.register(RedactPlugin(), "chargespec-redact")
    if logging.getLogRecordFactory() is logging.LogRecord:
        logging.setLogRecordFactory(_RedactedRecord)
