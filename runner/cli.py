"""The `chargespec` command.

    chargespec run [PATHS] [--bench FILE] [--fault NAME=VALUE ...] [--speed N] [--html DIR] [--proxy-to URL]
                   [-- PYTEST ARGS]
    chargespec report RUN_FOLDER [-o DIR]
    chargespec check [--bench FILE] [--proxy-to URL] PATHS
    chargespec fmt [--check] PATHS
    chargespec csms [--port P] [--host H] [--bench FILE] [--out DIR] [--max-frame-bytes N]
    chargespec proxy --to URL [--port P] [--host H] [--bench FILE] [--out DIR]
    chargespec twin [--bench FILE]
    chargespec preflight [--bench FILE] [--date YYYY-MM-DD] [--fault NAME=VALUE ...]
    chargespec run --campaign FILE [--resume]
    chargespec --version

`run` is pytest on the spec files with the chargespec plugin. It reserves a fresh run folder
(`OUT/runs/<UTC start>/`, `OUT/latest` pointing at it) for the run's Allure results, evidence and identity,
and with --html makes an Allure HTML report from that run's results at the end. At the end it writes the run's
acceptance summary (runner/summary/: summary.html and summary.pdf) into the run folder; `report` writes it
again for any run folder, finished or not, wherever -o says. Its exit code says what a
campaign script needs to know (runner/exitcodes.py; the README's table): 0 only when every scenario passed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _run(args: argparse.Namespace, extra: list[str]) -> int:
    import pytest

    from runner import runs
    from runner.exitcodes import RunExit

    out = Path(args.out)
    refusal = _per_station_refusal(args, extra)
    if refusal:
        print(f"chargespec: {refusal}", file=sys.stderr)
        return int(RunExit.USAGE_ERROR)
    preflight_args = _preflight_args(args, extra)  # (under pytest-xdist: checked here, before any folder)
    folder = runs.reserve(out)
    alluredir = folder / runs.ALLURE_RESULTS
    pytest_args = [*args.paths, f"--alluredir={alluredir}", f"--run-dir={folder}",
                   "-o", f"cache_dir={out / '.cache'}", "-rfEs",
                   # chargespec's own packages are imported before pytest starts here (this command is one of
                   # them), so pytest cannot rewrite their asserts, which need none: its warning is noise. (-W
                   # takes a message's literal beginning, not a pattern.)
                   *(arg for package in _OWN_PACKAGES for arg in
                     ("-W", f"ignore:{_NOT_REWRITTEN}{package}:pytest.PytestAssertRewriteWarning"))]
    if args.bench:
        pytest_args.append(f"--bench={args.bench}")
    if args.speed is not None:
        pytest_args.append(f"--speed={args.speed}")
    if args.proxy_to:
        pytest_args.append(f"--proxy-to={args.proxy_to}")
    for f in args.fault:
        pytest_args.append(f"--fault={f}")
    if args.marker:
        pytest_args += ["-m", args.marker]
    pytest_args += preflight_args
    if args.progress != "off":
        pytest_args.append(f"--progress={args.progress}")
    code = int(pytest.main([*pytest_args, *extra]))
    if runs.discard_if_unused(folder):  # a usage error or nothing selected: no run to keep
        return code
    print(f"\nRun folder: {folder.resolve()} (also {out / runs.LATEST})")
    if (folder / "verdicts.json").exists():  # runner/verdicts.py
        print(f"Verdicts and measurements: {(folder / 'verdicts.json').resolve()}")
    if not write_summary(folder, folder):
        code = code or RunExit.NO_REPORT
    if args.html:
        report = generate_html(alluredir, Path(args.html), name=report_name(folder))
        if report is None:
            return code or RunExit.NO_REPORT
        index = report.resolve() / "index.html"
        print(f"  (one self-contained file; to open it from any directory: {open_command(index)})")
        print(f"HTML report: {index}")
    return code


def _per_station_refusal(args: argparse.Namespace, extra: list[str]) -> str | None:
    """`-- -n N` that does not fit the bench (runner/per_station.py), said before the preflight opens it."""
    from runner.campaign import parallel_units
    from runner.per_station import decide
    from runner.plugin import DEFAULT_BENCH

    try:
        workers, _ = parallel_units(extra)
    except ValueError:
        return None  # pytest-xdist says what is wrong with it
    if not any(a.startswith(("-n", "--numprocesses")) for a in extra):
        return None
    station = next((b for a, b in zip(extra, [*extra[1:], None], strict=True) if a == "--station"), None) or next(
        (a.split("=", 1)[1] for a in extra if a.startswith("--station=")), None)
    dist = next((b for a, b in zip(extra, [*extra[1:], None], strict=True) if a == "--dist"), None) or next(
        (a.split("=", 1)[1] for a in extra if a.startswith("--dist=")), None) or ("load" if "-d" in extra else None)
    refusal = decide(Path(args.bench) if args.bench else DEFAULT_BENCH, station, workers,
                     dist=None if dist == "no" else dist)
    return refusal if isinstance(refusal, str) else None


def _preflight_args(args: argparse.Namespace, extra: list[str]) -> list[str]:
    """The plugin runs the preflight on the bench it opens (no second opening of the bench). Under
    pytest-xdist every worker opens its own bench, so the preflight runs here first, on a bench of its own."""
    mode = "warn" if args.accept_preflight_warnings else "strict"
    if args.no_preflight:
        return []
    dated = [f"--preflight-date={args.date}"] if args.date else []
    if not any(a == "-n" or a.startswith(("-n", "--numprocesses", "--dist")) for a in extra):
        return [f"--preflight={mode}", *dated]
    code = _preflight(args)
    if code and not args.accept_preflight_warnings:
        raise SystemExit(code)
    return []


def write_summary(folder: Path, target: Path) -> bool:
    """The acceptance summary of a run folder into `target`; False (said on stderr) if it could not be made."""
    from runner import summary

    try:
        files = summary.build(folder, target)
    except Exception as e:  # the run's verdicts stand in the folder; only the summary is missing
        print(f"chargespec: cannot make the acceptance summary of {folder}: {e}", file=sys.stderr)
        return False
    print(f"Acceptance summary: {files.verdict}" + (f" — {files.simulation}" if files.simulation else ""))
    print(f"  HTML: {files.html.resolve()}")
    print(f"  PDF:  {files.pdf.resolve()}")
    return True


def _report(args: argparse.Namespace) -> int:
    from runner import runs
    from runner.exitcodes import RunExit

    folder = Path(args.results)
    if folder.name == runs.ALLURE_RESULTS:  # the Allure results folder given: its run folder is meant
        folder = folder.parent
    if not (runs.identity_file(folder).exists() or (folder / "verdicts.json").exists()
            or any(folder.glob("run-*.json"))):
        print(f"chargespec: {folder} is not a run folder (no run.json or verdicts.json; runs are in "
              f"OUT/runs/<UTC start>/, the newest is OUT/latest)", file=sys.stderr)
        return RunExit.USAGE_ERROR
    return 0 if write_summary(folder, Path(args.output) if args.output else folder) else RunExit.NO_REPORT


def report_name(folder: Path) -> str:
    """The report's title: the bench and the charger under test (vendor, model, serial), the run, "simulation"
    on the twin, and INCOMPLETE with the reason when it did not run to the end."""
    from runner import runs

    identity = runs.read_identity(folder)  # under pytest-xdist the bench and charger are the workers'
    status = str(identity.get("status", runs.INCOMPLETE))
    chargers = [str(v).split(", firmware")[0] for k, v in identity.items() if k.startswith("charger.")]
    name = f"chargespec run {folder.name}"
    if chargers:
        name = f"{'; '.join(chargers)} on bench {identity.get('bench', '?')}: {name}"
    if identity.get("bench.kind") == "twin":
        name += " (simulation" + (f", faults {identity['faults']}" if identity.get("faults") else "") + ")"
    if status.lower() != runs.COMPLETE:
        name += f" — INCOMPLETE: {identity.get('status.reason', 'no identity file')}"
    return name


def _allure_binary() -> str | None:
    local = REPO / "node_modules" / ".bin" / "allure"
    if local.exists():
        return str(local)
    return shutil.which("allure")


def open_command(index: Path) -> str:
    """A command that opens the report from any directory (absolute path, file: URL, no desktop helper)."""
    return f"python3 -m webbrowser {index.resolve().as_uri()}"


# Allure 3's report page loads Google Analytics (the template always enables it): a report of a customer's
# charger must not call a third party when opened, and a self-contained file loads nothing from outside.
_ANALYTICS = re.compile(r'<script async src="https://www\.googletagmanager\.com/[^"]*"></script>\s*'
                        r"<script>\s*window\.dataLayer.*?</script>", re.DOTALL)
EXTERNAL = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=["']?(?:https?:)?//""", re.IGNORECASE)


def generate_html(results: Path, target: Path, name: str | None = None) -> Path | None:
    """The Allure HTML report of `results` as one self-contained `target/index.html` (Allure 3's awesome
    report, --single-file): it opens from the file system, by double-click, with no server and no network."""
    binary = _allure_binary()
    if binary is None:
        print("chargespec: cannot make the HTML report: the Allure 3 command line is not installed "
              "(run `npm install` in the repository, or `make run`)", file=sys.stderr)
        return None
    env = {**os.environ, "NO_COLOR": "1", "CI": os.environ.get("CI", "true")}
    command = [binary, "awesome", str(results), "-o", str(target), "--single-file",
               *(["--report-name", name] if name else [])]
    proc = subprocess.run(command, env=env,
                          capture_output=True, text=True, check=False)
    index = target / "index.html"
    if proc.returncode != 0 or not index.exists():
        print(f"chargespec: Allure failed to generate the report:\n{proc.stdout}{proc.stderr}", file=sys.stderr)
        return None
    html = index.read_text(encoding="utf-8")
    kept = _ANALYTICS.sub("", html)
    if kept != html:
        index.write_text(kept, encoding="utf-8")
    if EXTERNAL.search(kept):
        print(f"chargespec: the HTML report {index} loads something from outside (this Allure version's "
              "template changed): it may not open offline", file=sys.stderr)
    return target


def _check(args: argparse.Namespace) -> int:
    import dsl
    from lab.bench import BenchFileError
    from runner.exitcodes import RunExit

    # The same root `chargespec run` allows (pytest's rootdir, normally where it is started): a spec checked
    # alone may include a shared setup from a sibling folder, as it may when it runs.
    root = Path(args.include_root) if args.include_root else Path.cwd()
    try:  # the bench's mode when one is named: lines that cannot run in it are errors too
        proxy = _bench_mode(args.bench, args.proxy_to)
    except BenchFileError as e:
        print(f"chargespec: {e}", file=sys.stderr)
        return RunExit.USAGE_ERROR
    empty = [p for p in args.paths if Path(p).is_dir() and next(Path(p).rglob("*.spec"), None) is None]
    for p in empty:  # (checking nothing is no "ok": a mistyped folder would pass any campaign's check)
        print(f"chargespec: no spec file (*.spec) in {p}", file=sys.stderr)
    if len(empty) == len(args.paths):  # as `run` exits when it finds no spec file: nothing was selected
        print("chargespec: nothing checked", file=sys.stderr)
        return RunExit.NO_SPECS
    conftests: list[Path] = []
    if not args.no_conftest:  # the statements a lab defines with @step, as pytest collection knows them
        from runner.conftests import ConftestError, conftests_for, load

        conftests = conftests_for(args.paths, Path.cwd())
        try:
            load(conftests)
        except ConftestError as e:
            print(f"chargespec: {e}", file=sys.stderr)
            return RunExit.USAGE_ERROR
    errors = dsl.check_paths([Path(p) for p in args.paths], include_root=root)
    if proxy is not None:
        from dsl.errors import sort_errors
        from runner.proxy.statements import check_mode

        errors = sort_errors([*errors, *check_mode(args.paths, proxy=proxy, include_root=root,
                                                   skip={e.source.file for e in errors})])
    if not errors and args.bench:
        from runner.stations import check_stations

        errors = check_stations([Path(p) for p in args.paths], args.bench, include_root=root)
    for e in errors:
        print(e.render(), file=sys.stderr)
    if errors:
        if any(e.message.startswith(("unknown actor", "unknown statement")) for e in errors):
            print(_UNKNOWN_NOTE.format(loaded=", ".join(str(c) for c in conftests) or "none",
                                       skipped=" (--no-conftest: none was)" if args.no_conftest else ""),
                  file=sys.stderr)
        print(f"{len(errors)} error(s)", file=sys.stderr)
        return RunExit.USAGE_ERROR
    mode = "" if proxy is None else f" (checked for {'proxy mode' if proxy else 'the harness'})"
    print(f"ok: no errors{mode}")
    return 0


_UNKNOWN_NOTE = ("note: a statement a lab defines with @step (runner.steps.step) is known to check when its module is "
                 "imported by a conftest.py in the current directory or a folder on the way to the spec, as pytest "
                 "collection imports it{skipped}; run check from where `chargespec run` runs (conftest.py loaded: "
                 "{loaded})")


def _bench_mode(bench: str | None, proxy_to: str | None) -> bool | None:
    """Proxy mode (True), the harness (False), or None when no bench is named. The bench file is read as
    `run` reads it (BenchFileError if it is wrong): --proxy-to overrides its [proxy] table."""
    if not bench and not proxy_to:
        return None
    from lab.bench import load_bench

    path = Path(bench) if bench else REPO / "lab" / "benches" / "twin.toml"  # (run's default bench)
    return load_bench(path, overrides={"proxy.to": proxy_to} if proxy_to else None).proxy is not None


def _fmt(args: argparse.Namespace) -> int:
    from dsl.errors import SpecErrors
    from dsl.fmt import format_paths

    try:
        changed = format_paths([Path(p) for p in args.paths], check=args.check)
    except SpecErrors as e:
        print(e.render(), file=sys.stderr)
        print("nothing was rewritten: fix the errors first", file=sys.stderr)
        return 1
    for p in changed:
        print(("would reformat " if args.check else "reformatted ") + str(p))
    return 1 if (args.check and changed) else 0


def _serve(command: str, argv: list[str]) -> int:
    """`csms` and `proxy` are their serve modules' own commands, every option as they define it (one parser:
    their options, defaults and usage errors cannot drift from what `chargespec csms|proxy` accepts)."""
    if command == "csms":
        from runner.csms.serve import main as serve
    else:
        from runner.proxy.serve import main as serve
    return serve(argv)


def _twin(args: argparse.Namespace) -> int:
    from lab.twin.serve import main as serve

    argv = (["--bench", args.bench] if args.bench else []) + (["--csms", args.csms] if args.csms else [])
    argv += [f"--fault={f}" for f in args.fault] + ([f"--speed={args.speed}"] if args.speed is not None else [])
    return serve(argv)


def _campaign_date(text: str | None) -> date:
    return date.fromisoformat(text) if text else datetime.now(UTC).date()


def _preflight(args: argparse.Namespace) -> int:
    """`chargespec preflight`: open the bench, check it against the bench file, print the findings."""
    from lab.bench import load_bench
    from runner import preflight
    from runner.exitcodes import RunExit
    from runner.plugin import DEFAULT_BENCH, parse_fault_args

    path = Path(args.bench) if args.bench else DEFAULT_BENCH
    try:
        faults = parse_fault_args(args.fault)
        overrides = {"clock.speed": args.speed} if getattr(args, "speed", None) is not None else {}
        cfg = load_bench(path, overrides=overrides)
        on = _campaign_date(args.date)
        if faults:
            if cfg.kind != "twin":
                raise ValueError(f"--fault: {path} is a {cfg.kind} bench; fault knobs apply to a twin bench only")
            from lab.twin.faults import parse_faults

            parse_faults(faults)
    except Exception as e:  # a bench file, a fault knob or a date that is wrong: nothing was opened
        print(f"chargespec: {e}", file=sys.stderr)
        return RunExit.USAGE_ERROR
    findings = preflight.run_standalone(cfg, faults=faults, on=on)
    preflight.show(findings)
    if preflight.invalidating(findings):
        opened = not (len(findings) == 1 and findings[0].check == "open")
        print(preflight.refusal(findings), file=sys.stderr)
        return RunExit.PREFLIGHT_FAILED if opened else RunExit.BENCH_BROKEN
    return 0


def build_parser() -> argparse.ArgumentParser:
    from runner.exitcodes import UsageParser

    p = UsageParser(prog="chargespec", description="Acceptance specs for EV chargers on a lab bench.")
    p.add_argument("--version", action="version", version=f"chargespec {_version()}")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run specs on a bench (default: the twin)")
    r.add_argument("paths", nargs="*", default=["specs/"])
    r.add_argument("--bench", help="bench file (default lab/benches/twin.toml)")
    r.add_argument("--fault", action="append", default=[], metavar="NAME=VALUE", help="twin fault knob")
    r.add_argument("--speed", type=float, help="twin clock speed")
    r.add_argument("-m", dest="marker", help="only scenarios whose tags match this pytest marker expression")
    r.add_argument("--out", default="out",
                   help="output directory: each run in OUT/runs/<UTC start>/, OUT/latest the newest")
    r.add_argument("--html", help="write the Allure HTML report to this directory")
    r.add_argument("--accept-preflight-warnings", action="store_true",
                   help="run even when the preflight finds the bench or charger not as the bench file says")
    r.add_argument("--no-preflight", action="store_true", help=argparse.SUPPRESS)
    r.add_argument("--date", help="the campaign date calibration is checked against (default: today, UTC)")
    r.add_argument("--progress", choices=("auto", "rich", "plain", "off"), default="auto",
                   help="live progress during long steps: rich on a terminal, plain lines otherwise (auto)")
    r.add_argument("--campaign", metavar="FILE", help="run a campaign file (lab/campaigns/*.toml)")
    r.add_argument("--resume", action="store_true",
                   help="with --campaign: re-run only the scenarios that did not finish or were broken")

    r.add_argument("--proxy-to", metavar="URL", help="proxy mode: relay the charger to this target CSMS and judge "
                   "the relayed traffic (docs/proxy.md)")

    pf = sub.add_parser("preflight", help="check a bench and its chargers against the bench file")
    pf.add_argument("--bench", help="bench file (default lab/benches/twin.toml)")
    pf.add_argument("--date", help="the campaign date calibration is checked against (default: today, UTC)")
    pf.add_argument("--fault", action="append", default=[], metavar="NAME=VALUE", help="twin fault knob")
    pf.add_argument("--speed", type=float, help="twin clock speed")

    rp = sub.add_parser("report", help="write a run's acceptance summary (HTML and PDF)")
    rp.add_argument("results", metavar="RUN_FOLDER", help="a run folder, e.g. out/latest or out/runs/<UTC start>")
    rp.add_argument("-o", "--output", metavar="DIR", help="where to write it (default: the run folder)")

    c = sub.add_parser("check", help="parse and check specs; exit 4 (usage error) on any error, 5 when no "
                                     "spec file is found")
    c.add_argument("--include-root", metavar="DIR",
                   help="includes may read .spec files under DIR too (default: the current directory)")
    c.add_argument("--bench", metavar="FILE",
                   help="also check that every station a spec names (`on station NAME`) is on this bench, and "
                        "report each line that cannot run in this bench's mode (proxy or harness)")
    c.add_argument("--proxy-to", metavar="URL", help="check for proxy mode, as `run --proxy-to URL` runs")
    c.add_argument("--no-conftest", action="store_true",
                   help="do not import the conftest.py files on the way from the current directory to the specs "
                        "(by default imported, as pytest collection does, so statements a lab defines with @step "
                        "are known)")
    c.add_argument("paths", nargs="+")

    f = sub.add_parser("fmt", help="rewrite specs in the canonical layout")
    f.add_argument("--check", action="store_true", help="only report; exit 1 when a file would change")
    f.add_argument("paths", nargs="+")

    # Listed for `chargespec -h`; main() hands their arguments to runner/csms/serve.py and runner/proxy/serve.py,
    # whose parsers define them (`chargespec csms -h` shows those).
    sub.add_parser("csms", help="run the CSMS harness alone, printing traffic live (chargespec csms -h)",
                   add_help=False)
    sub.add_parser("proxy", help="relay a charger to a target CSMS, printing and judging the traffic live "
                                 "(chargespec proxy -h)", add_help=False)

    t = sub.add_parser("twin", help="start the twin bench alone and print its endpoints")
    t.add_argument("--bench")
    t.add_argument("--csms", help="CSMS URL the virtual charger connects to (default ws://127.0.0.1:9000)")
    t.add_argument("--fault", action="append", default=[], metavar="NAME=VALUE", help="twin fault knob")
    t.add_argument("--speed", type=float, help="twin clock speed (default 1)")
    return p


_OWN_PACKAGES = ("runner", "dsl", "instruments", "lab")
_NOT_REWRITTEN = "Module already imported so cannot be rewritten; "


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["csms"], ["proxy"]):
        return _serve(argv[0], argv[1:])
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    args = build_parser().parse_args(argv)
    if args.command == "run":
        if args.campaign:
            from runner.campaign import run_campaign

            return run_campaign(args, extra)
        if args.resume:
            build_parser().error("--resume needs --campaign FILE")
        try:
            return _run(args, extra)
        except SystemExit as e:  # the preflight refused (pytest-xdist runs check the bench before pytest)
            return int(e.code or 0)
    return {"report": _report, "check": _check, "fmt": _fmt, "twin": _twin,
            "preflight": _preflight}[args.command](args)


def _version() -> str:
    """The installed package's version (its metadata: pyproject.toml's `version`)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chargespec")
    except PackageNotFoundError:
        return "unknown (not installed as a package)"


if __name__ == "__main__":
    sys.exit(main())
