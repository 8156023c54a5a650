#!/usr/bin/env bash
# `./build.sh fuzz [SECONDS] [TARGET...]`: coverage-guided fuzzing of every file parser with afl++ (Debian's afl++) and
# SharpFuzz. Builds engine-reliability into artifacts/fuzz/bin, instruments the parsers' namespaces, starts each target's
# corpus from its seeds and its committed corpus (Engine.Tests/Fixtures/fuzz/TARGET), fuzzes each target for SECONDS
# (default 60), prints "fuzz TARGET: N execs, M crashes" per target, and copies every crash or hang (and the new
# corpus entries) into Engine.Tests/Fixtures/fuzz/TARGET/ so the test suite replays them from then on. Exit status 1 when anything crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
[[ $# -gt 0 ]] && shift
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: ./build.sh fuzz [SECONDS] [TARGET...]" >&2; exit 2; }

if ! command -v afl-fuzz >/dev/null 2>&1; then
  echo "fuzz: afl-fuzz is not installed; installing Debian's afl++" >&2
  if [[ $(id -u) == 0 ]]; then apt-get install -y afl++ >/dev/null || { apt-get update >/dev/null && apt-get install -y afl++ >/dev/null; }
  else sudo apt-get install -y afl++ >/dev/null; fi
fi

dotnet tool restore >/dev/null
work=artifacts/fuzz
bin="$work/bin"
rm -rf "$bin"
dotnet build tools/Reliability -c Release >/dev/null
mkdir -p "$bin"
cp -r tools/Reliability/bin/Release/net10.0/. "$bin/"   # a copy: instrumenting in place would change the build's own files
plain=(dotnet tools/Reliability/bin/Release/net10.0/engine-reliability.dll)   # listings and seeds: instrumented code runs only under afl
run=(dotnet "$bin/engine-reliability.dll")

# Instrument only the parsers' namespaces (the listing comes from the targets' table).
"${plain[@]}" fuzz instrument | while read -r assembly prefixes; do
  # shellcheck disable=SC2086
  dotnet sharpfuzz "$bin/$assembly" $prefixes >/dev/null
done

targets=("$@")
if [[ ${#targets[@]} == 0 ]]; then
  mapfile -t targets < <("${plain[@]}" fuzz list | awk '{print $1}')
fi

rm -rf "$work/seeds"
"${plain[@]}" fuzz seed "$work/seeds"
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
total_crashes=0
for t in "${targets[@]}"; do
  corpus="Engine.Tests/Fixtures/fuzz/$t"
  in="$work/in/$t" out="$work/out/$t"
  rm -rf "$in" "$out"
  mkdir -p "$in" "$corpus" "$work/out"
  cp "$work/seeds/$t"/* "$in/"
  # The committed corpus (inputs found earlier, crashes fixed since) starts the run too.
  find "$corpus" -maxdepth 1 -type f -size -64k -exec cp {} "$in/" \;
  afl-fuzz -i "$in" -o "$out" -V "$seconds" -t 5000 -m none -- "${run[@]}" fuzz run "$t" >"$work/$t.log" 2>&1 || true
  stats="$out/default/fuzzer_stats"
  if [[ ! -f "$stats" ]]; then
    echo "fuzz $t: afl-fuzz did not start (see $work/$t.log)"
    tail -5 "$work/$t.log" >&2
    total_crashes=$((total_crashes + 1))
    continue
  fi
  execs=$(awk -F': ' '/^execs_done/ {print $2}' "$stats")
  crashes=$(awk -F': ' '/^saved_crashes/ {print $2}' "$stats")
  hangs=$(awk -F': ' '/^saved_hangs/ {print $2}' "$stats")
  paths=$(awk -F': ' '/^corpus_count/ {print $2}' "$stats")
  for kind in crashes hangs; do
    for f in "$out/default/$kind"/id:*; do
      [[ -f "$f" ]] || continue
      cp "$f" "$corpus/$kind-$(sha1sum "$f" | cut -c1-12)"
    done
  done
  # The corpus afl built (new coverage only, no seeds) is kept too, small inputs only: the suite replays it.
  for f in "$out/default/queue"/id:*; do
    [[ -f "$f" && "$f" != *orig:* && $(stat -c %s "$f") -le 16384 ]] || continue
    cp "$f" "$corpus/queue-$(sha1sum "$f" | cut -c1-12)"
  done
  echo "fuzz $t: $execs execs, $crashes crashes, $hangs hangs, corpus $paths"
  total_crashes=$((total_crashes + crashes + hangs))
done
[[ "$total_crashes" == 0 ]]
