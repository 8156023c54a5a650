#!/usr/bin/env bash
# `./build.sh api [--ship]`: regenerate the declared public API of every shipped library (a project with
# <IsPackable>true</IsPackable>): PublicAPI.Unshipped.txt becomes what is public now and not yet in PublicAPI.Shipped.txt
# (what the analyzer reports as missing, RS0016, is added; what it reports as gone, RS0017, is removed). With --ship the unshipped lines move into
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
  # The analyzer names each undeclared symbol (RS0016) and each declared one that is gone (RS0017) in exactly the
  # files' format: build once, add the first to Unshipped, drop the second from both files.
  log=$(mktemp)
  dotnet build "$proj" -c Release --no-incremental -nologo -v q -p:TreatWarningsAsErrors=false > "$log" 2>&1 || true
  abs="[$(realpath "$proj")]"   # the project's own diagnostics (a referenced project's are its own business)
  grep -F "$abs" "$log" | grep -oE "RS0016: Symbol '.*' is not part of the declared public API" |
    sed -E "s/^RS0016: Symbol '(.*)' is not part of the declared public API$/\1/" | LC_ALL=C sort -u >> "$unshipped" || true
  grep -F "$abs" "$log" | grep -oE "RS0017: Symbol '.*' is part of the declared API" |
    sed -E "s/^RS0017: Symbol '(.*)' is part of the declared API$/\1/" | LC_ALL=C sort -u > "$log.gone" || true
  if [[ -s "$log.gone" ]]; then
    for f in "$shipped" "$unshipped"; do grep -vxF -f "$log.gone" "$f" > "$f.kept" || true; mv "$f.kept" "$f"; done
  fi
  if grep -qE ": error [A-Z]+[0-9]+" "$log"; then
    echo "  the build has errors (fix them, then run this again):" >&2
    grep -E ": error [A-Z]+[0-9]+" "$log" | sort -u | head -5 >&2
  fi
  rm -f "$log" "$log.gone"
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
