#!/usr/bin/env bash
# The password hash compiled for this machine's processor (docs/performance.md, "The password
# hasher"). Argon2's published wheel is compiled for every x86-64 processor (SSE2 only); compiled
# for x86-64-v3 (AVX2, the processors of the last ten years or so) the same hash, with the same
# parameters and the same output, takes about 40 % less CPU. `make install` runs this after the
# pinned dependencies: it builds the pinned argon2-cffi-bindings from its source where the
# processor supports x86-64-v3 and a C compiler is present, checks the build against known
# answers, and otherwise keeps the published wheel and says why.
#
#   scripts/argon2_for_this_cpu.sh .venv/bin     # ARGON2_BUILD=wheel keeps the published wheel
#
# A build made here runs only on processors with x86-64-v3: build each host's environment on a
# host of its kind (as `make install` does), or set ARGON2_BUILD=wheel for an environment that
# is copied to older processors.
set -uo pipefail

bin=${1:?usage: scripts/argon2_for_this_cpu.sh <environment bin directory>}
here=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^argon2-cffi-bindings==\([^ ]*\).*/\1/p' "$here/requirements.txt")
pip=("$bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir --no-deps)

keep() {
  echo "Argon2: kept the published build ($1)."
  exit 0
}

[ "${ARGON2_BUILD:-auto}" = "wheel" ] && keep "ARGON2_BUILD=wheel"
[ -n "$version" ] || { echo "Argon2: requirements.txt pins no argon2-cffi-bindings." >&2; exit 1; }
[ "$(uname -m)" = "x86_64" ] || keep "not an x86-64 processor"
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
for flag in avx avx2 bmi1 bmi2 f16c fma abm movbe xsave; do
  [[ " $flags " == *" $flag "* ]] || keep "this processor lacks x86-64-v3 ($flag)"
done
command -v cc >/dev/null || keep "no C compiler: apt-get install gcc python3-dev for a faster hash"

# Already built here (its wheel's tag names no manylinux): nothing to do.
"$bin/python" - <<'EOF' && exit 0
import sys
from importlib.metadata import distribution
sys.exit(0 if "manylinux" not in distribution("argon2-cffi-bindings").read_text("WHEEL") else 1)
EOF

echo "Argon2: compiling argon2-cffi-bindings $version for this processor (x86-64-v3)…"
if ! CFLAGS="-O2 -march=x86-64-v3" "${pip[@]}" --force-reinstall --no-binary argon2-cffi-bindings \
  "argon2-cffi-bindings==$version"; then
  "${pip[@]}" --force-reinstall "argon2-cffi-bindings==$version"
  keep "the build failed; apt-get install gcc python3-dev for a faster hash"
fi

# The build must give Argon2's own answer (the reference implementation's test vector for
# Argon2id, version 19, 64 MiB, two passes): a hash stored by one host verifies on every other.
if ! "$bin/python" - <<'EOF'; then
from argon2.low_level import Type, hash_secret_raw

got = hash_secret_raw(
    b"password", b"somesalt", time_cost=2, memory_cost=65536, parallelism=1, hash_len=32,
    type=Type.ID,
)
assert got.hex() == "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7", got.hex()
EOF
  "${pip[@]}" --force-reinstall "argon2-cffi-bindings==$version"
  keep "the build gave a wrong answer"
fi
echo "Argon2: compiled for this processor."
