#!/usr/bin/env bash
# `./build.sh api [--ship]`: regenerate the declared public API of every shipped library (a project with
# <IsPackable>true</IsPackable>): PublicAPI.Unshipped.txt becomes what is public now and not yet in PublicAPI.Shipped.txt
# (RS0016's code fix adds what is missing, RS0017's removes what is gone). With --ship the unshipped lines move into
# PublicAPI.Shipped.txt (do that when a version is released). The build then checks the files (RS0016/RS0017 are
# warnings, and warnings are errors), so every public change shows up as a diff of these files.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

ship=0
[[ "${1:-}" == "--ship" ]] && ship=1

mapfile -t projects < <(grep -l '<IsPackable>true</IsPackable>' $(git ls-files '*.csproj') | sort)
for proj in "${projects[@]}"; do
  dir=$(dirname "$proj")
  shipped="$dir/PublicAPI.Shipped.txt"
  unshipped="$dir/PublicAPI.Unshipped.txt"
  [[ -f "$shipped" ]] || printf '#nullable enable\n' > "$shipped"
  printf '#nullable enable\n' > "$unshipped"
  echo "public API of $proj" >&2
  # Shipped lines whose symbol is gone are removed by RS0017's fix; RS0016's fix adds the new symbols to Unshipped.
  dotnet format analyzers "$proj" --diagnostics RS0016 RS0017 --severity warn -v q
  if [[ "$ship" == 1 ]]; then
    { echo '#nullable enable'; grep -hv '^#nullable' "$shipped" "$unshipped" | grep -v '^$' | LC_ALL=C sort -u; } > "$shipped.new"
    mv "$shipped.new" "$shipped"
    printf '#nullable enable\n' > "$unshipped"
  fi
  for f in "$shipped" "$unshipped"; do
    { head -1 "$f"; tail -n +2 "$f" | LC_ALL=C sort -u; } > "$f.sorted" && mv "$f.sorted" "$f"
  done
  echo "  $(grep -vc '^#' "$shipped") shipped, $(grep -vc '^#' "$unshipped") unshipped lines" >&2
done
