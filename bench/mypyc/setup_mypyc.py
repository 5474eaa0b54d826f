"""Build the mypyc experiment's modules in place, their shared library inside the dsl package.

    cd <worktree> && git apply bench/mypyc/mypyc-experiment.patch
    python bench/mypyc/setup_mypyc.py build_ext --inplace      # needs mypy, setuptools>=77, gcc, headers

group_name puts mypyc's shared library at dsl/_native__mypyc.*.so (by default it is a top-level module,
<hash>__mypyc, which setuptools' editable finder does not map: it then has to be copied or linked into
site-packages by hand). The four error codes are disabled because dsl/ does not pass mypy (141 errors
at ee8705b): mypyc still checks the declared types at run time.
"""

from mypyc.build import mypycify
from setuptools import setup

MODULES = ["quickline", "quick", "lowering", "steps", "patterns", "quantities", "stations", "render", "examples",
           "signals", "text", "messages", "limits", "suggest", "statements", "vocab", "checker", "compiler",
           "rule_checks"]
FLAGS = ["--config-file=bench/mypyc/mypy.ini",
         *(f"--disable-error-code={code}" for code in ("union-attr", "attr-defined", "arg-type", "operator"))]

setup(ext_modules=mypycify([*FLAGS, *(f"dsl/{m}.py" for m in MODULES)], group_name="dsl._native", opt_level="3"))
