#!/usr/bin/env bash
# `./build.sh bench-peers`: the engine and PyTorch on the same workloads in one run, with a table and ratio lines.
# usage: scripts/bench-peers.sh [--rounds R] [--seconds S] [--no-onednn] [WORKLOAD...]
#   workloads: gemm256 gemm512 gemm1024 gemm2048 mlp_step cnn_step (default: all)
#   R rounds (default 3) alternate engine and PyTorch; each side's best round median counts, and the FMA peak
#   (measured at the start of every engine round) is the best of the rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

py=/usr/bin/python3
rounds=3
seconds=1
onednn=--onednn
workloads=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --no-onednn) onednn=""; shift ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) workloads+=("$1"); shift ;;
  esac
done
[[ ${#workloads[@]} -gt 0 ]] || workloads=(gemm256 gemm512 gemm1024 gemm2048 mlp_step cnn_step)

if ! "$py" -c 'import torch' >/dev/null 2>&1; then
  echo "PyTorch is not importable by $py: installing Debian's python3-torch" >&2
  sudo_cmd=()
  [[ $(id -u) == 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q python3-torch
fi

dotnet build Engine.Benchmarks -c Release -nologo -v q -clp:ErrorsOnly
engine=(dotnet Engine.Benchmarks/bin/Release/net10.0/Engine.Benchmarks.dll peers)
threads=$(nproc)

mkdir -p artifacts
log="artifacts/bench-peers-$(date -u +%Y%m%dT%H%M%SZ).log"
load() { read -r a b c _ < /proc/loadavg; echo "load when=$1 avg1=$a avg5=$b avg15=$c"; }
{
  echo "info side=machine date=$(date -u +%Y-%m-%dT%H:%MZ) cpus=$threads model=$(lscpu | sed -n 's/^Model name: *//p' | tr ' ' '_')"
  load start
  for ((r = 1; r <= rounds; r++)); do
    "${engine[@]}" --peak --seconds "$seconds" "${workloads[@]}"
    "$py" scripts/bench_peers.py torch --seconds "$seconds" --threads "$threads" $onednn "${workloads[@]}"
  done
  load end
} | tee "$log"
echo
"$py" scripts/bench_peers.py report "$log" | tee -a "$log.report"
echo "(raw lines: $log; table: $log.report)"
