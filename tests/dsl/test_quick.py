"""The quick compiler (dsl.quick) gives exactly the full path's plans, or leaves the file to it.

Checked here on the spec library, the language reference's examples, the golden mistakes and a plain
spec's variants (tests/dsl/test_fuzz.py adds hypothesis mutations): its result is None or equal to
parsing, checking and compiling the file whole; a file with any error is never served by it.
"""

from __future__ import annotations

import dataclasses
import itertools
import pickle
import re
from pathlib import Path

import pytest

import dsl
from dsl import quick
from dsl.compiler import analyze
from dsl.lazy import LazyScenarioPlan
from dsl.parser import parse_partial
from dsl.steps import builtin_registry
from dsl.text import normalize, sha256_bytes

REPO = Path(__file__).resolve().parents[2]

PLAIN = (Path(__file__).parent / "fixtures" / "plain.spec").read_text(encoding="utf-8")



def full(text: str, file: str) -> tuple[dsl.plan.SpecPlan, ...] | None:
    """The full path: parse the file whole, check and compile; None when it has any error."""
    spec_file, errors = parse_partial(text, file, fast=False)
    if spec_file is None or errors:
        return None
    plans, errors = analyze(spec_file)
    if errors:
        return None
    return tuple(dataclasses.replace(p, sha256="digest") for p in plans)


def assert_agrees(text: str, file: str = "quick.spec") -> tuple[dsl.plan.SpecPlan, ...] | None:
    text = normalize(text)
    served = quick.compile_text(text, file, "digest", builtin_registry())
    if served is not None:
        assert served == full(text, file)
        lazy = quick.compile_text(text, file, "digest", builtin_registry(), lazy=True)
        assert lazy == served
    return served


def test_plain_specs_are_served_and_equal_the_full_path() -> None:
    plans = assert_agrees(PLAIN)
    assert plans is not None and [p.title for p in plans] == ["Load points, suite 1", "Protocol"]
    first = plans[0].scenarios[0]
    assert first.steps[0].source == dsl.plan.Source("quick.spec", 13, 5, "    ev draws 13 A")
    assert first.setup[1].source.text == "    ev plugs in on evse 1  # the first EVSE"


@pytest.mark.parametrize("path", sorted((REPO / "specs").rglob("*.spec")), ids=lambda p: p.name)
def test_the_spec_library_agrees(path: Path) -> None:
    assert_agrees(path.read_text(encoding="utf-8"), str(path))


def test_golden_mistakes_are_left_to_the_full_path() -> None:
    goldens = sorted((REPO / "tests" / "dsl" / "golden").glob("*.spec"))
    assert len(goldens) >= 20
    for path in goldens:
        assert dsl._quick(path.read_bytes(), path.name, "digest", builtin_registry()) is None, path.name


def test_reference_examples_agree() -> None:
    doc = (REPO / "docs" / "language.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```spec\n(.*?)```", doc, re.DOTALL)
    assert blocks
    served = [assert_agrees(b) for b in blocks]
    assert any(s is not None for s in served)  # the plain ones take the quick path


@pytest.mark.parametrize("text", [
    PLAIN.replace("13 A - 1 A", "13 kW"),                               # dimension mismatch
    PLAIN.replace('over "steady" within', 'over "stedy" within'),       # undefined window
    PLAIN.replace('    measure "steady" for 10 min\n', '    measure "steady" for 10 min\n' * 2),  # measured twice
    PLAIN.replace("    charger booted", "    charger boted"),            # unknown statement
    PLAIN.replace('scenario "point 2"', 'scenario "point 1"'),          # duplicate name
    PLAIN.replace("  version 1", "  version 7"),                        # unknown version
    PLAIN.replace("  teardown\n    session stops\n", "  teardown\n"),   # empty block
    PLAIN.replace("  tags bench", "  tags bench\n  tags more"),         # two tags lines
    PLAIN.replace('spec "Protocol"', 'spec "Load points, suite 1"'),    # duplicate spec title
    PLAIN.replace("    ev draws 14 A", "\tev draws 14 A"),               # tab
])
def test_files_with_errors_are_never_served(text: str) -> None:
    assert full(normalize(text), "quick.spec") is None
    assert quick.compile_text(normalize(text), "quick.spec", "digest", builtin_registry()) is None


def test_each_distinct_line_is_lowered_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    lower = quick._lower

    def counting(line: str, registry: dsl.StepRegistry) -> object:
        calls.append(line)
        return lower(line, registry)

    monkeypatch.setattr(quick, "_TEMPLATES", {})
    monkeypatch.setattr(quick, "_lower", counting)
    for n in range(3):
        assert quick.compile_text(normalize(PLAIN), f"f{n}.spec", "d", builtin_registry()) is not None
    assert len(calls) == len(set(calls)) == 17  # the statement lines of PLAIN, each once


def test_a_new_step_definition_gets_new_templates() -> None:
    registry = builtin_registry().copy()
    text = normalize(PLAIN.replace("    charger booted", "    lab relay closes"))
    assert quick.compile_text(text, "x.spec", "d", registry) is None  # unknown statement
    registry.define("lab relay closes", name="lab.relay_closes")
    plans = quick.compile_text(text, "x.spec", "d", registry)
    assert plans is not None and plans[0].scenarios[0].setup[0].step == "lab.relay_closes"


def test_lazy_plans_place_their_steps_when_used() -> None:
    eager = quick.compile_text(normalize(PLAIN), "x.spec", "d", builtin_registry())
    lazy = quick.compile_text(normalize(PLAIN), "x.spec", "d", builtin_registry(), lazy=True)
    assert eager is not None and lazy is not None
    scenario = lazy[0].scenarios[1]
    assert isinstance(scenario, LazyScenarioPlan) and "steps" not in scenario.__dict__
    assert scenario.name == "point 2" and scenario.tags == ("bench", "ac-only", "smart")
    assert scenario.steps == eager[0].scenarios[1].steps
    assert pickle.loads(pickle.dumps(lazy)) == eager


def test_load_and_check_take_the_quick_path(tmp_path: Path) -> None:
    path = tmp_path / "plain.spec"
    path.write_text(PLAIN, encoding="utf-8")
    digest = sha256_bytes(path.read_bytes())
    expected = full(normalize(PLAIN), str(path))
    assert expected is not None
    assert dsl.load(path) == tuple(dataclasses.replace(p, sha256=digest) for p in expected)
    assert dsl.check_paths([tmp_path]) == []
    path.write_text(PLAIN.replace("13 A - 1 A", "13 kW"), encoding="utf-8")
    (error,) = dsl.check_paths([tmp_path])
    assert error.source.line == 14 and "kW" in error.message


def test_plans_cached_from_the_quick_path_keep_their_sharing(tmp_path: Path) -> None:
    path = tmp_path / "plain.spec"
    path.write_text(PLAIN, encoding="utf-8")
    cache = tmp_path / "cache"
    first = dsl.load(path, cache_dir=cache)
    (entry,) = cache.rglob("*.pickle")
    again = dsl.load(path, cache_dir=cache, lazy=True)  # a hit: the outline now, steps when used
    assert again == first
    from dsl import seal

    with entry.open("rb") as f:  # (entries are sealed with the spec's digest: dsl/seal.py)
        stored = pickle.loads(seal.read(f, seal.key_for(first[0].sha256, entry.name.removesuffix(".pickle")), 2)[1])
    one, two = stored[0].scenarios
    assert one.setup is two.setup and one.teardown is two.teardown  # one object in the pickle, as placed


MATCHING = '''spec "Matching"
  scenario "patterns"
    ev plugs in on evse 1
    expect within 30 s: charger sends StatusNotification {connectorStatus: "Available" or "Occupied", evseId: 1}
    expect charger sends TransactionEvent {evse: absent or {id: 1}, seqNo: not 0, idToken: present} or NotifyEvent
    expect within 30 s: charger sends exactly 1 TransactionEvent {eventType: "Started"}
    expect charger sends TransactionEvent within 10 s after StatusNotification {connectorStatus: "Occupied"}
    csms sets variable OCPPCommCtrlr.MessageAttempts[TransactionEvent] on evse 1 to "3"
'''


def test_message_patterns_are_served_and_equal_the_full_path_and_survive_the_cache() -> None:
    plans = assert_agrees(MATCHING)
    assert plans is not None
    steps = plans[0].scenarios[0].steps
    assert steps[1].fields["connectorStatus"] == dsl.plan.AnyOf(("Available", "Occupied"))
    assert pickle.loads(pickle.dumps(plans)) == plans  # (the plan cache pickles them)


def test_remembered_values_are_served_in_order_and_misuse_is_left_to_the_full_path() -> None:
    remember = '    remember transactionInfo.transactionId of the last TransactionEvent as "tx"\n'
    recall = '    expect charger sends TransactionEvent {transactionInfo: {transactionId: remembered "tx"}}\n'
    plans = assert_agrees(MATCHING + remember + recall)  # (the names remembered so far are a scope)
    assert plans is not None and plans[0].scenarios[0].steps[-2].name == "tx"
    # Recalled before it is remembered, or never remembered: the full path reports it.
    for text in (MATCHING + recall + remember, MATCHING + recall):
        assert assert_agrees(text) is None
        assert full(text, "quick.spec") is None
    # Remembered in the setup, recalled in each scenario (and again in the teardown): served.
    shared = ('spec "Shared"\n  setup\n    charger booted\n' + remember + '  scenario "one"\n' + recall +
              '  scenario "two"\n' + recall + '  teardown\n' + recall)
    assert assert_agrees(shared) is not None
    # Remembered in a scenario, recalled in the setup (which runs before it): left to the full path.
    backwards = 'spec "Backwards"\n  setup\n' + recall + '  scenario "one"\n' + remember
    assert assert_agrees(backwards) is None
    assert full(backwards, "quick.spec") is None


ANSWERS = '''spec "answers"
  scenario "rules"
    csms answers the 2nd TransactionEvent {eventType: "Ended" or "Updated"} with error InternalError once
    csms answers TransactionEvent {eventType: "Started", idToken: present} with {idTokenInfo: {status: "Blocked"}}
    csms answers Authorize with {idTokenInfo: {status: "Accepted"}} after 40 s 2 times
    csms does not answer the 3rd Authorize
    charger supports SmartChargingCtrlr.Enabled
'''


def test_answer_rules_and_features_are_served_and_equal_the_full_path() -> None:
    plans = assert_agrees(ANSWERS)
    assert plans is not None
    first, second, third, fourth, feature = plans[0].scenarios[0].steps
    assert dict(first.args) == {"nth": 2, "action": "TransactionEvent", "count": 1, "code": "InternalError",
                                "match": {"eventType": dsl.plan.AnyOf(("Ended", "Updated"))}}
    assert second.args["match"] == {"eventType": "Started", "idToken": dsl.plan.Present()}
    assert third.args["delay"].value == 40 and third.args["count"] == 2
    assert dict(fourth.args) == {"nth": 3, "action": "Authorize"}
    assert dict(feature.args) == {"feature": "SmartChargingCtrlr.Enabled"}
    # a pattern survives the plan cache (pickled), as Present, not as a plain dict
    assert pickle.loads(pickle.dumps(plans))[0].scenarios[0].steps[1].args["match"]["idToken"] == dsl.plan.Present()


@pytest.mark.parametrize("line", [
    "csms answers the 2th TransactionEvent with error InternalError",       # wrong ordinal suffix
    "csms answers RequestStartTransaction with error InternalError",        # a CSMS-initiated action
    "csms does not answer Authorize 0 times",                               # no count of zero
    'csms answers Authorize with {idTokenInfo: {status: "A" or "B"}}',     # a pattern in a payload
    "charger supports SmartChargingCtrl",                                    # not a standardized component
])
def test_answer_rule_mistakes_are_never_served(line: str) -> None:
    text = normalize(f'spec "s"\n  scenario "x"\n    {line}\n')
    assert full(text, "quick.spec") is None
    assert quick.compile_text(text, "quick.spec", "digest", builtin_registry()) is None


@pytest.mark.parametrize("path", sorted((REPO / "specs").rglob("*.spec")), ids=lambda p: p.name)
def test_every_library_file_loads_to_the_full_paths_plans(path: Path) -> None:
    # What collection does cold (the quick path where it serves, else the per-line parse), against the
    # file parsed whole by Lark without any fast path, checked and compiled.
    text = normalize(path.read_text(encoding="utf-8"))
    try:
        loaded = dsl.load(path, include_root=REPO)
    except dsl.SpecErrors:  # (then the whole-file parse finds errors too: the same verdict)
        assert full(text, str(path)) is None
        return
    assert tuple(dataclasses.replace(p, sha256="digest") for p in loaded) == full(text, str(path))


def test_the_library_mostly_takes_the_quick_path() -> None:
    # (what keeps cold collection cheap: a file the quick path leaves costs the Lark parser)
    paths = []
    for p in sorted((REPO / "specs").rglob("*.spec")):
        try:
            dsl.load(p, include_root=REPO)
        except dsl.SpecErrors:  # (a file with errors is never served: the library's are clean)
            continue
        paths.append(p)
    served = [p for p in paths if dsl._quick(p.read_bytes(), str(p), "digest", builtin_registry()) is not None]
    assert len(served) >= 0.9 * len(paths), sorted({str(p) for p in paths} - {str(p) for p in served})


# ---- lines checked by their shape (a lazy collection) ----

def _statement_lines() -> list[str]:
    """Every distinct statement line of the library and of the language reference's examples."""
    texts = [p.read_text(encoding="utf-8") for p in sorted((REPO / "specs").rglob("*.spec"))]
    texts += re.findall(r"```spec\n(.*?)```", (REPO / "docs" / "language.md").read_text(encoding="utf-8"), re.DOTALL)
    lines = {line for text in texts for line in text.split("\n")
             if line.startswith("    ") and not line.lstrip(" ").startswith("#")}
    return sorted(lines)


# Values that would matter if anything looked at a string value's text: keywords, words a field may hold
# unquoted, punctuation of the grammar, a placeholder's look without its braces, nothing at all.
_VALUES = ("", "x", "or", "not", "as", "remembered", "present", "absent", "true", ": 5", "a, b", "Ω µ-1.5 A",
           "1", "every 60 s", "<=")
_NUMBERS = ("0", "1", "2.5", "36", "007", "100000")


def test_lines_of_one_shape_lower_alike() -> None:
    """What a lazy collection relies on (dsl.quick._shape): a line whose shape is that of a line which
    lowered without an error lowers without one too, opening, reading and remembering the same names."""
    registry = builtin_registry()
    shaped = 0
    for line in _statement_lines():
        shape = quick._shape(line)
        if shape is None:
            continue
        shaped += 1
        original = quick._lower(line, registry)
        for n in range(len(_VALUES)):
            variant = _fill(line, shape, n)  # each value taken out replaced, by a different one each time
            assert quick._shape(variant) == shape, (line, variant)
            lowered = quick._lower(variant, registry)
            assert (lowered is None) == (original is None), (line, variant)
            if original is not None and lowered is not None:
                assert (lowered.opens, lowered.uses, lowered.remembers, lowered.recalls) == (
                    original.opens, original.uses, original.remembers, original.recalls)
    assert shaped >= 300  # (most field objects of the library hold string values not checked against an enum)


def _fill(line: str, shape: str, n: int) -> str:
    """The line with each value its shape takes out replaced by one of _VALUES or _NUMBERS, from the nth on."""
    strings = itertools.cycle(_VALUES[n % len(_VALUES):] + _VALUES[:n % len(_VALUES)])
    numbers = itertools.cycle(_NUMBERS[n % len(_NUMBERS):] + _NUMBERS[:n % len(_NUMBERS)])
    variant = quick._shaped(line, lambda: f'"{next(strings)}"', lambda: next(numbers))
    assert variant is not None
    return variant


@pytest.mark.parametrize(("line", "shape"), [
    ('    expect charger replies {"data": "x"}', '    expect charger replies {"data": ""}'),  # a key
    ('    remember transactionId of the last TransactionEvent {transactionInfo: {transactionId: "1"}} as "tx"',
     # the name stays
     '    remember transactionId of the last TransactionEvent {transactionInfo: {transactionId: ""}} as "tx"'),
    # A value of a field that is an enumeration somewhere (dsl.patterns checks it), and every string after it.
    ('    expect every TransactionEvent {"eventType": "Started"}: seqNo increases by 1', None),
    # (a reply's fields are not checked: its values are opaque)
    ('    expect charger replies {"status": "Accepted"}', '    expect charger replies {"status": ""}'),
    ('    expect charger sends StatusNotification {timestamp: "t", connectorStatus: "Occupied", x: "y"}',
     '    expect charger sends StatusNotification {timestamp: "", connectorStatus: "Occupied", x: "y"}'),
    ('    expect charger sends TransactionEvent {transactionInfo: {transactionId: remembered "tx"}}', None),
    ('    expect charger sends DataTransfer {data: "[1]", vendorId: "{x}"}', None),  # brackets in a value
    ('    expect charger sends DataTransfer {data: "#1", vendorId: "a+b"}', None),  # comment mark, plus
    ('    driver presents token "ABC"', None),  # outside braces
    ('    expect charger sends A {x: "a"} or B {y: "b", n: 5} within 5 s',
     '    expect charger sends A {x: ""} or B {y: "", n: 0} within 5 s'),  # not the duration
    ('    expect charger sends A {x: [1, 2], y: -1, z: 1 or 2, w: 16 A}', None),  # not in a list, signed, ...
    ('    lab sets points: 5, {x: 3}', '    lab sets points: 5, {x: 0}'),  # an action's own number stays
])
def test_what_is_not_opaque_stays_in_the_shape(line: str, shape: str | None) -> None:
    assert quick._shape(line) == shape


def test_a_lazy_collection_checks_a_line_by_its_shape_and_places_it_from_its_own(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quick, "_TEMPLATES", {})
    monkeypatch.setattr(quick, "_SHAPES", {})
    monkeypatch.setattr(quick, "_OUTLINED", {})
    lowered: list[str] = []
    lower = quick._lower
    monkeypatch.setattr(quick, "_lower", lambda line, registry: lowered.append(line) or lower(line, registry))
    text = ('spec "S"\n  scenario "s"\n    csms sends DataTransfer {vendorId: "%s", messageId: "m"}\n'
            '    expect charger replies {data: "%s"}\n')
    first = quick.compile_text(normalize(text % ("com.a", "x")), "a.spec", "d", builtin_registry(), lazy=True)
    assert first is not None and len(lowered) == 2
    second = quick.compile_text(normalize(text % ("com.b", "y")), "b.spec", "d", builtin_registry(), lazy=True)
    assert second is not None and len(lowered) == 2  # checked by shape: nothing lowered
    steps = second[0].scenarios[0].steps  # placed when used: each line's own template
    assert len(lowered) == 4
    assert steps[0].args["fields"] == {"vendorId": "com.b", "messageId": "m"}
    assert steps[1].fields == {"data": "y"}
    assert second == quick.compile_text(normalize(text % ("com.b", "y")), "b.spec", "d", builtin_registry())


def test_a_cold_lazy_collection_of_the_library_serves_what_the_eager_path_serves(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quick, "_TEMPLATES", {})
    monkeypatch.setattr(quick, "_SHAPES", {})
    monkeypatch.setattr(quick, "_OUTLINED", {})
    registry = builtin_registry()
    texts = {str(p): normalize(p.read_text(encoding="utf-8")) for p in sorted((REPO / "specs").rglob("*.spec"))}
    lazy = {f: quick.compile_text(t, f, "d", registry, lazy=True) for f, t in texts.items()}
    assert quick._SHAPES  # (outlines were made, and used below for the lines that share them)
    for f, t in texts.items():
        eager = quick.compile_text(t, f, "d", registry)
        assert (lazy[f] is None) == (eager is None), f
        assert lazy[f] == eager, f


def test_the_process_caches_of_lines_and_shapes_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # (a long-lived process, a language server or a watcher, meets ever new lines: it starts over)
    monkeypatch.setattr(quick, "_TEMPLATES_MAX", 3)
    for name in ("_TEMPLATES", "_SHAPES", "_OUTLINED"):
        monkeypatch.setattr(quick, name, {})
    registry, fingerprint = builtin_registry(), builtin_registry().fingerprint()
    for n in range(10):  # each line a new one, all of one shape: checked by it, outlines kept
        line = f'    csms sends DataTransfer {{vendorId: "v{n}"}}'
        assert quick._template(fingerprint, line, registry, lazy=True) is not None
        assert len(quick._TEMPLATES) == 1 and len(quick._OUTLINED) <= 3
    for n in range(10):  # each line of its own
        assert quick._template(fingerprint, f"    wait {n + 1} s", registry) is not None
        assert len(quick._TEMPLATES) <= 3 and len(quick._SHAPES) <= 3 and len(quick._OUTLINED) <= 3
