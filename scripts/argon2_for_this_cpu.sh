#!/usr/bin/env bash
# The password hash compiled for this machine's processor (docs/performance.md, "The password
# hasher"). Argon2's published wheel is compiled for every x86-64 processor (SSE2 only); compiled
# for x86-64-v3 (AVX2, the processors of the last ten years or so) the same hash, with the same
# parameters and the same output, takes about 40 % less CPU. `make install` runs this after the
# pinned dependencies: it builds the pinned argon2-cffi-bindings from its source where the
# processor supports x86-64-v3 and a C compiler can build for it, checks the build against the
# reference implementation's test vector, and otherwise keeps the published wheel and says why.
#
#   scripts/argon2_for_this_cpu.sh .venv/bin     # again at any time, e.g. after installing gcc
#   ARGON2_BUILD=wheel scripts/argon2_for_this_cpu.sh .venv/bin     # the published wheel
#
# A build made here runs only on processors with x86-64-v3: build each host's environment on a
# host of its kind (as `make install` does), or use ARGON2_BUILD=wheel for an environment that
# is copied to older processors (it puts the published wheel back if a build is installed).
set -uo pipefail

bin=${1:?usage: scripts/argon2_for_this_cpu.sh <environment bin directory>}
here=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^argon2-cffi-bindings==\([^ ]*\).*/\1/p' "$here/requirements.txt")
pip=("$bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir --no-deps)
# Written once a build made here passed the test vector; names the version it was made of.
marker="$bin/../.argon2-built-here"

[ -n "$version" ] || { echo "Argon2: requirements.txt pins no argon2-cffi-bindings." >&2; exit 1; }

published() {
  # The published wheel, never a build from source; a failure stops `make install`.
  rm -f "$marker"
  "${pip[@]}" --force-reinstall --only-binary argon2-cffi-bindings \
    "argon2-cffi-bindings==$version" \
    || { echo "Argon2: could not install the published wheel." >&2; exit 1; }
}

built_here() {
  [ "$(cat "$marker" 2>/dev/null)" = "$version" ] && "$bin/python" - "$version" <<'EOF'
import sys
from importlib.metadata import distribution

installed = distribution("argon2-cffi-bindings")
tags = installed.read_text("WHEEL") or ""
sys.exit(0 if installed.version == sys.argv[1] and "manylinux" not in tags else 1)
EOF
}

keep() {
  if built_here; then
    published
    echo "Argon2: put the published build back ($1)."
  else
    echo "Argon2: kept the published build ($1)."
  fi
  exit 0
}

case "${ARGON2_BUILD:-auto}" in
  wheel) keep "ARGON2_BUILD=wheel" ;;
  auto) ;;
  *) echo "Argon2: ARGON2_BUILD is auto or wheel, not ${ARGON2_BUILD}." >&2; exit 1 ;;
esac

if built_here; then
  echo "Argon2: compiled for this processor already."
  exit 0
fi
[ "$(uname -m)" = "x86_64" ] || keep "not an x86-64 processor"
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
for flag in avx avx2 bmi1 bmi2 f16c fma abm movbe xsave; do
  [[ " $flags " == *" $flag "* ]] || keep "this processor lacks x86-64-v3 ($flag)"
done
later="then run scripts/argon2_for_this_cpu.sh $bin for a faster hash"
command -v cc >/dev/null || keep "no C compiler: apt-get install gcc python3-dev, $later"
cc -march=x86-64-v3 -x c -E - </dev/null >/dev/null 2>&1 \
  || keep "the C compiler does not know x86-64-v3 (GCC 11 or newer does), $later"

echo "Argon2: compiling argon2-cffi-bindings $version for this processor (x86-64-v3)…"
if ! CFLAGS="-O2 -march=x86-64-v3" "${pip[@]}" --force-reinstall --no-binary argon2-cffi-bindings \
  "argon2-cffi-bindings==$version"; then
  # pip builds before it uninstalls: what was installed is still there.
  keep "the build failed (Python's headers: apt-get install python3-dev), $later"
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
  published
  echo "Argon2: kept the published build (the build gave a wrong answer)."
  exit 0
fi
echo "$version" >"$marker"
echo "Argon2: compiled for this processor."
