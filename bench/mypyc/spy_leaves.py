"""Aggregate a py-spy raw (collapsed) profile recorded with --native: self samples by where the leaf frame
is (compiled dsl code, pure Python dsl code, CPython, regex engine, msgspec, libc), within dsl.load only."""

import collections
import re
import sys


def kind(frame: str) -> str:
    m = re.match(r"(.*) \((.*?)(?::\d+)?\)$", frame)
    fn, where = (m.group(1), m.group(2)) if m else (frame, "")
    if where.startswith("__native_") or fn.startswith(("CPyDef_", "CPyPy_", "CPy")):
        return "mypyc-compiled dsl code (and its lib-rt helpers)"
    if where.startswith("dsl/") or "/dsl/" in where:
        return "pure-Python dsl code: " + where.split("/")[-1]
    if "_sre" in where or "sre" in fn.lower():
        return "regular expressions (_sre)"
    if "msgspec" in where or "_core" in where or fn.startswith("Struct"):
        return "msgspec (C)"
    if "libc" in where or "malloc" in fn:
        return "libc (malloc, memcpy ...)"
    if where.endswith(".py"):
        return "other Python: " + where.split("/")[-1]
    return "CPython runtime (" + where.split(".")[0] + ")"


def main() -> None:
    self_ = collections.Counter()
    total = 0
    with open(sys.argv[1], encoding="utf-8") as f:
        lines = f.readlines()
    for line in lines:
        stack, _, n = line.rstrip("\n").rpartition(" ")
        if "load (dsl/__init__.py" not in stack:
            continue
        frames = stack.split(";")
        self_[kind(frames[-1])] += int(n)
        total += int(n)
    print(f"{sys.argv[1]}: {total} samples inside dsl.load")
    for k, v in self_.most_common(25):
        print(f"  {100 * v / total:5.1f}%  {k}")


if __name__ == "__main__":
    main()
