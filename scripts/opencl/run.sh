#!/usr/bin/env bash
# ./build.sh opencl: builds PoCL 6.0 once (build-pocl.sh), registers it for this process only (OCL_ICD_VENDORS) and
# runs every test instantiated on the OpenCL device: the kernel-path tests and the PyTorch conformance fixtures.
# The last line is "N passed, N failed". Arguments go to the test host (e.g. --filter-...).
set -euo pipefail
cd "$(dirname "$0")/../.."

vendors=$(scripts/opencl/build-pocl.sh | tail -1)
export OCL_ICD_VENDORS=$vendors
# The OpenCL device must be there and usable: otherwise no test would be instantiated on it and "0 failed" would lie.
if ! clinfo_out=$(clinfo 2>&1) || ! grep -q "Generic address space support *Yes" <<< "$clinfo_out"; then
  echo "error: no OpenCL device with the generic address space is registered through $vendors" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
grep -m1 -E "^\s+Device Name" <<< "$clinfo_out" | sed 's/^\s*/opencl: /'

# build.sh's test verb prints the "N passed, N failed" line; at least 500 tests must run (the OpenCL instances).
exec ./build.sh test --filter 'FullyQualifiedName~\(opencl\)|FullyQualifiedName~DeviceTests' --minimum-expected-tests 500 "$@"
