#!/usr/bin/env bash
# `./build.sh bench-ranks`: the cost of data parallelism on this machine. All-reduce bandwidth of the MPI process
# group at 2 ranks, then the training step of the main job's CNN (and the MLP of bench-peers) on 1 rank and on 2 ranks,
# one host thread per rank (ENGINE_THREADS=1, DOTNET_PROCESSOR_COUNT=1), with the gradient communication overlapping backward and not:
# how long a step takes, how long its all-reduces take, and how much of that the overlap hides.
# usage: scripts/bench-ranks.sh [--seconds S] [--ranks R]
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

seconds=3
ranks=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --ranks) ranks="$2"; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "unknown argument '$1'" >&2; exit 2 ;;
  esac
done

command -v mpirun >/dev/null 2>&1 || { echo "error: mpirun is not on PATH; install Open MPI (Debian/Ubuntu: apt-get install -y openmpi-bin)" >&2; exit 2; }
dotnet build Engine.Benchmarks -c Release -nologo -v q -clp:ErrorsOnly
dll=Engine.Benchmarks/bin/Release/net10.0/Engine.Benchmarks.dll
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ENGINE_THREADS=1 DOTNET_PROCESSOR_COUNT=1
one=(dotnet "$dll" ranks)
many=(mpirun -np "$ranks" --oversubscribe -x TERM=dumb -x ENGINE_THREADS=1 -x DOTNET_PROCESSOR_COUNT=1 dotnet "$dll" ranks)

mkdir -p artifacts
log="artifacts/bench-ranks-$(date -u +%Y%m%dT%H%M%SZ).log"
load() { read -r a b c _ < /proc/loadavg; echo "load when=$1 avg1=$a avg5=$b avg15=$c"; }
{
  echo "info side=machine date=$(date -u +%Y-%m-%dT%H:%MZ) cpus=$(nproc) model=$(lscpu | sed -n 's/^Model name: *//p' | tr ' ' '_') isa=$(grep -o -w -E 'avx512f|avx2|fma' /proc/cpuinfo | sort -u | tr '\n' ',' | sed 's/,$//') mpi=$(mpirun --version | head -1 | tr ' ' '_')"
  load start
  "${many[@]}" allreduce --seconds 1
  load allreduce
  for model in cnn mlp; do
    "${one[@]}" step --model "$model" --batch 32 --seconds "$seconds"
    "${many[@]}" step --model "$model" --batch 32 --seconds "$seconds"
    "${many[@]}" step --model "$model" --batch 32 --no-overlap --seconds "$seconds"
    "${many[@]}" step --model "$model" --batch $((32 / ranks)) --seconds "$seconds"
    load "$model"
  done
  load end
} | grep -v '^info side=ranks' | tee "$log"

# Ratios: step time of R ranks (each with the 1-rank batch, i.e. R times the work) over 1 rank, with and without overlap.
awk '
  /^step / { for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
             key = f["model"] "_" f["ranks"] "_" f["batch_per_rank"] "_" f["overlap"]; t[key] = f["median_ms"]; m[f["model"]] = 1 }
  END { for (model in m) {
          b = t[model "_1_32_1"]
          for (k in t) { split(k, p, "_"); if (p[1] == model && p[2] > 1 && p[3] == 32 && b > 0)
            printf "ratio ddp_step_%s_%sranks_vs_1rank_overlap%s %.3f\n", model, p[2], p[4], t[k] / b } } }
' "$log" | sort | tee -a "$log"
echo "(raw lines: $log)"
