#!/bin/sh
# Interleaved rounds of time_load.py: the compiled worktree (its .so files) and a pure copy (PYTHONPATH).
# usage: compare_load.sh PYTHON PURE_DIR ROUNDS
PY=$1; PURE=$2; N=${3:-10}; HERE=$(dirname "$0")
i=0
while [ $i -lt "$N" ]; do
  echo "compiled $($PY "$HERE/time_load.py")"
  echo "pure     $(PYTHONPATH=$PURE $PY "$HERE/time_load.py")"
  i=$((i + 1))
done
