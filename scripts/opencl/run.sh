#!/usr/bin/env bash
# ./build.sh opencl: builds PoCL 6.0 once (build-pocl.sh), registers it for this process only (OCL_ICD_VENDORS) and
# runs every test instantiated on the OpenCL device: the kernel-path tests and the PyTorch conformance fixtures.
# The last line is "N passed, N failed". Arguments go to the test host (e.g. --filter-...).
set -euo pipefail
cd "$(dirname "$0")/../.."

vendors=$(scripts/opencl/build-pocl.sh | tail -1)
export OCL_ICD_VENDORS=$vendors
dotnet build Engine.sln -c Release
mkdir -p artifacts
dotnet samples/MnistTrainer/bin/Release/net10.0/MnistTrainer.dll --fetch-only ||
  echo "warning: could not fetch the MNIST digits; the tests on real digits will fail and say what to do" >&2

# The OpenCL device must be there and usable: otherwise no test would be instantiated on it and "0 failed" would lie.
if ! clinfo_out=$(clinfo 2>&1) || ! grep -q "Generic address space support *Yes" <<< "$clinfo_out"; then
  echo "error: no OpenCL device with the generic address space is registered through $vendors" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
grep -m1 -E "^\s+Device Name" <<< "$clinfo_out" | sed 's/^\s*/opencl: /'

log=artifacts/opencl-test-output.log
set +e
dotnet Engine.Tests/bin/Release/net10.0/Engine.Tests.dll --no-progress \
  --filter 'FullyQualifiedName~\(opencl\)|FullyQualifiedName~DeviceTests' "$@" 2>&1 | tee "$log"
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
if [[ "$total" -lt 100 ]]; then
  echo "error: only $total tests ran on OpenCL (test host exit code $rc); the device was not picked up" >&2
  failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[[ "$rc" == 0 && "$failed" == 0 ]]
