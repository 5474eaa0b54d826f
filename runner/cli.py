"""The `chargespec` command.

    chargespec run [PATHS] [--bench FILE] [--fault NAME=VALUE ...] [--speed N] [--html DIR] [-- PYTEST ARGS]
    chargespec report RUN_FOLDER [-o DIR]
    chargespec check [--bench FILE] PATHS
    chargespec fmt [--check] PATHS
    chargespec csms [--port P] [--bench FILE]
    chargespec twin [--bench FILE]

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
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _run(args: argparse.Namespace, extra: list[str]) -> int:
    import pytest

    from runner import runs
    from runner.exitcodes import RunExit

    out = Path(args.out)
    folder = runs.reserve(out)
    alluredir = folder / runs.ALLURE_RESULTS
    pytest_args = [*args.paths, f"--alluredir={alluredir}", f"--run-dir={folder}",
                   "-o", f"cache_dir={out / '.cache'}", "-rfEs"]
    if args.bench:
        pytest_args.append(f"--bench={args.bench}")
    if args.speed is not None:
        pytest_args.append(f"--speed={args.speed}")
    for f in args.fault:
        pytest_args.append(f"--fault={f}")
    if args.marker:
        pytest_args += ["-m", args.marker]
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
        print(f"  (a browser loads the report over HTTP: `node_modules/.bin/allure open {args.html}`)")
        print(f"HTML report: {report.resolve() / 'index.html'}")
    return code


def write_summary(folder: Path, target: Path) -> bool:
    """The acceptance summary of a run folder into `target`; False (said on stderr) if it could not be made."""
    from runner import summary

    try:
        files = summary.build(folder, target)
    except Exception as e:  # the run's verdicts stand in the folder; only the summary is missing
        print(f"chargespec: cannot make the acceptance summary of {folder}: {e}", file=sys.stderr)
        return False
    print(f"Acceptance summary: {files.verdict}")
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
    """The report's title: the run, and INCOMPLETE with the reason when it did not run to the end."""
    import json

    from runner import runs

    try:
        identity = json.loads(runs.identity_file(folder).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        identity = {}
    status = str(identity.get("status", runs.INCOMPLETE))
    name = f"chargespec run {folder.name}"
    if status.lower() != runs.COMPLETE:
        name += f" — INCOMPLETE: {identity.get('status.reason', 'no identity file')}"
    return name


def _allure_binary() -> str | None:
    local = REPO / "node_modules" / ".bin" / "allure"
    if local.exists():
        return str(local)
    return shutil.which("allure")


def generate_html(results: Path, target: Path, name: str | None = None) -> Path | None:
    binary = _allure_binary()
    if binary is None:
        print("chargespec: cannot make the HTML report: the Allure 3 command line is not installed "
              "(run `npm install` in the repository, or `make run`)", file=sys.stderr)
        return None
    env = {**os.environ, "NO_COLOR": "1", "CI": os.environ.get("CI", "true")}
    command = [binary, "generate", str(results), "-o", str(target), *(["--report-name", name] if name else [])]
    proc = subprocess.run(command, env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not (target / "index.html").exists():
        print(f"chargespec: Allure failed to generate the report:\n{proc.stdout}{proc.stderr}", file=sys.stderr)
        return None
    return target


def _check(args: argparse.Namespace) -> int:
    import dsl

    # The same root `chargespec run` allows (pytest's rootdir, normally where it is started): a spec checked
    # alone may include a shared setup from a sibling folder, as it may when it runs.
    root = Path(args.include_root) if args.include_root else Path.cwd()
    errors = dsl.check_paths([Path(p) for p in args.paths], include_root=root)
    if not errors and args.bench:
        from runner.stations import check_stations

        errors = check_stations([Path(p) for p in args.paths], args.bench, include_root=root)
    for e in errors:
        print(e.render(), file=sys.stderr)
    if errors:
        print(f"{len(errors)} error(s)", file=sys.stderr)
        return 1
    print("ok: no errors")
    return 0


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


def _csms(args: argparse.Namespace) -> int:
    from runner.csms.serve import main as serve

    argv = ["--port", str(args.port), "--host", args.host]
    argv += (["--bench", args.bench] if args.bench else []) + (["--out", args.out] if args.out else [])
    return serve(argv)


def _twin(args: argparse.Namespace) -> int:
    from lab.twin.serve import main as serve

    argv = (["--bench", args.bench] if args.bench else []) + (["--csms", args.csms] if args.csms else [])
    argv += [f"--fault={f}" for f in args.fault] + ([f"--speed={args.speed}"] if args.speed is not None else [])
    return serve(argv)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="chargespec", description="Acceptance specs for EV chargers on a lab bench.")
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

    rp = sub.add_parser("report", help="write a run's acceptance summary (HTML and PDF)")
    rp.add_argument("results", metavar="RUN_FOLDER", help="a run folder, e.g. out/latest or out/runs/<UTC start>")
    rp.add_argument("-o", "--output", metavar="DIR", help="where to write it (default: the run folder)")

    c = sub.add_parser("check", help="parse and check specs; exit 1 on any error")
    c.add_argument("--include-root", metavar="DIR",
                   help="includes may read .spec files under DIR too (default: the current directory)")
    c.add_argument("--bench", metavar="FILE",
                   help="also check that every station a spec names (`on station NAME`) is on this bench")
    c.add_argument("paths", nargs="+")

    f = sub.add_parser("fmt", help="rewrite specs in the canonical layout")
    f.add_argument("--check", action="store_true", help="only report; exit 1 when a file would change")
    f.add_argument("paths", nargs="+")

    s = sub.add_parser("csms", help="run the CSMS harness alone, printing traffic live")
    s.add_argument("--port", type=int, default=9000)
    s.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (0.0.0.0 for a charger on the lab network)")
    s.add_argument("--bench", help="bench file: security profile, passwords, certificates, station ids")
    s.add_argument("--out", help="directory for the recorded trace")

    t = sub.add_parser("twin", help="start the twin bench alone and print its endpoints")
    t.add_argument("--bench")
    t.add_argument("--csms", help="CSMS URL the virtual charger connects to (default ws://127.0.0.1:9000)")
    t.add_argument("--fault", action="append", default=[], metavar="NAME=VALUE", help="twin fault knob")
    t.add_argument("--speed", type=float, help="twin clock speed (default 1)")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return _run(args, extra)
    return {"report": _report, "check": _check, "fmt": _fmt, "csms": _csms, "twin": _twin}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
