#!/usr/bin/env bash
# Builds PoCL 6.0 (a CPU OpenCL implementation with the OpenCL 2.0 generic address space that ILGPU's OpenCL
# backend needs; Debian 12's PoCL 3.1 lacks it) from Debian trixie's source package into a cache folder, once per
# machine, and registers it only through an .icd folder meant for OCL_ICD_VENDORS: the system's apt configuration
# and OpenCL vendors stay as they were. Prints the folder to export as OCL_ICD_VENDORS on its last line.
#
# usage: scripts/opencl/build-pocl.sh            (cache: .cache/pocl in the checkout; ENGINE_POCL_DIR overrides)
# needs: Debian 12 (bookworm), root or sudo for the build dependencies, the Debian archive reachable.
set -euo pipefail
cd "$(dirname "$0")/../.."

version=6.0-6                                   # Debian's source package pocl 6.0-6 (trixie)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${ENGINE_POCL_DIR:-$PWD/.cache/pocl}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
prefix=$cache/install
vendors=$cache/vendors
stamp=$cache/built-$version

if [[ -f "$stamp" && -f "$vendors/pocl.icd" && -f "$(cat "$vendors/pocl.icd")" ]]; then
  echo "pocl: $version already built in $cache" >&2
  echo "$vendors"
  exit 0
fi

# 1. Build dependencies from Debian 12 (only those missing are installed).
deps=(build-essential cmake ninja-build pkg-config dpkg-dev llvm-15-dev clang-15 libclang-15-dev libclang-cpp15-dev
  libhwloc-dev ocl-icd-dev ocl-icd-opencl-dev ocl-icd-libopencl1 clinfo zlib1g-dev libxml2-dev)
missing=()
for p in "${deps[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  sudo=""
  [[ $(id -u) == 0 ]] || sudo=sudo
  echo "pocl: installing build dependencies: ${missing[*]}" >&2
  apt_opts=(-o DPkg::Lock::Timeout=900 -y --no-install-recommends)
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install "${missing[@]}" ||
    { $sudo apt-get -o DPkg::Lock::Timeout=900 update && $sudo env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install "${missing[@]}"; }
fi

# 2. The source: Debian's own package from trixie, through a private sources list (system apt config untouched).
apt_dir=$cache/apt
src_root=$cache/src
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts" "$src_root"
echo "deb-src $mirror trixie main" > "$apt_dir/sources.list"
private_apt=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/parts"
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "APT::Sandbox::User=root")
src=$src_root/pocl-${version%-*}
if [[ ! -f "$src/CMakeLists.txt" ]]; then
  echo "pocl: fetching the source package pocl=$version from trixie" >&2
  apt-get "${private_apt[@]}" update >&2
  (cd "$src_root" && apt-get "${private_apt[@]}" source --download-only "pocl=$version" >&2)
  rm -rf "$src"
  (cd "$src_root" && dpkg-source -x "pocl_$version.dsc" "$src" >&2)
fi

# 3. Configure and build: kernel library for this host's CPU only, ICD on, no tests/examples/poclcc/remote.
build=$cache/build
t0=$(date +%s)
mkdir -p "$build"
cd "$build" # PoCL's configure checks write compile_test_* files into the working directory
cmake -G Ninja -S "$src" -B "$build" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$prefix" \
  -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
  -DWITH_LLVM_CONFIG=/usr/bin/llvm-config-15 \
  -DKERNELLIB_HOST_CPU_VARIANTS=native \
  -DENABLE_ICD=ON \
  -DENABLE_TESTS=OFF -DENABLE_EXAMPLES=OFF -DENABLE_POCLCC=OFF \
  -DENABLE_REMOTE_SERVER=OFF -DENABLE_REMOTE_CLIENT=OFF >&2
t1=$(date +%s)
ninja -C "$build" install >&2
t2=$(date +%s)
echo "pocl: configure $((t1 - t0)) s, build and install $((t2 - t1)) s" >&2

# 4. Register through a private vendors folder (export OCL_ICD_VENDORS=$vendors), not /etc/OpenCL/vendors.
lib=$(find "$prefix" -name libpocl.so -print -quit)
[[ -n "$lib" ]] || { echo "pocl: libpocl.so not found under $prefix" >&2; exit 1; }
mkdir -p "$vendors"
echo "$lib" > "$vendors/pocl.icd"
info=$(OCL_ICD_VENDORS=$vendors clinfo 2>/dev/null || true)
if grep -q "Generic address space support *Yes" <<< "$info"; then
  echo "pocl: clinfo reports the generic address space" >&2
else
  echo "pocl: warning: clinfo does not report the generic address space for the built PoCL" >&2
fi
touch "$stamp"
echo "$vendors"
