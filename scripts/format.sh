#!/usr/bin/env bash
# Formats the repository's Swift files with swift-format and the .swift-format at the root
# (4-space indent, 120 columns, existing line breaks kept).
#
#   scripts/format.sh           format every tracked Swift file in place
#   scripts/format.sh --check   change nothing; list the files that would change and exit 1
#                               if there is any (for CI)
#
# Uses `swift format` from the toolchain (Swift 6 ships it), else `swift-format` on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
case "${1:-}" in
    --check) check=1 ;;
    "") ;;
    *) echo "usage: scripts/format.sh [--check]" >&2; exit 2 ;;
esac

if swift format --version >/dev/null 2>&1; then
    formatter=(swift format)
elif command -v swift-format >/dev/null 2>&1; then
    formatter=(swift-format)
else
    echo "format.sh: neither \`swift format\` nor swift-format found; install a Swift 6 toolchain" >&2
    exit 2
fi

files=()
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    while IFS= read -r -d '' f; do [ -f "$f" ] && files+=("$f"); done < <(git ls-files -z --cached --others --exclude-standard -- '*.swift')
else
    while IFS= read -r -d '' f; do files+=("$f"); done < <(find . -name '*.swift' -not -path './.build/*' -print0)
fi
if [ ${#files[@]} -eq 0 ]; then
    echo "format.sh: no Swift files found" >&2
    exit 2
fi

if [ "$check" -eq 0 ]; then
    "${formatter[@]}" format --in-place --parallel "${files[@]}"
    exit 0
fi

# Check: format copies (with the same configuration above them) and compare.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp .swift-format "$tmp/"
for f in "${files[@]}"; do
    mkdir -p "$tmp/$(dirname "$f")"
    cp "$f" "$tmp/$f"
done
(cd "$tmp" && "${formatter[@]}" format --in-place --parallel "${files[@]}")
changed=0
for f in "${files[@]}"; do
    if ! cmp -s "$f" "$tmp/$f"; then
        echo "$f"
        changed=$((changed + 1))
    fi
done
if [ "$changed" -gt 0 ]; then
    echo "format.sh: $changed file(s) would change; run scripts/format.sh" >&2
    exit 1
fi
echo "format.sh: every file is formatted"
