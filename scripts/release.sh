#!/usr/bin/env bash
# Builds the release archive: dist/logship-<version>-linux-<arch>.tar.gz (the binary with the
# Swift runtime and Foundation linked in, README.md and docs/, NOTICE, shell completions, the man page)
# and dist/SHA256SUMS. The Dockerfile runs this same script, so the image holds the same binary.
#
#   scripts/release.sh    # from a clone; needs swift, libssl-dev, zlib1g-dev, libcurl4-openssl-dev
#                         # (static FoundationNetworking links against libcurl.so); git for the commit
#
# Environment (all optional):
#   LOGSHIP_COMMIT     the commit `logship --version` names (default: git HEAD, "-dirty" when the
#                      tree has uncommitted changes; "unknown" without git, as in a Docker build)
#   SOURCE_DATE_EPOCH  the build date, seconds since 1970 (default: now); also the archive's file times
#   DIST_DIR           where the archive and SHA256SUMS go (default: dist)
#   SCRATCH_PATH       SwiftPM's build folder (default: .build/release-static). Its own folder so
#                      a release build never waits for, or invalidates, the debug build in .build
#                      that `swift test` holds locked.
set -euo pipefail
cd "$(dirname "$0")/.."

dist=${DIST_DIR:-dist}
scratch=${SCRATCH_PATH:-.build/release-static}
version=$(sed -n 's/^ *static let version = "\(.*\)"$/\1/p' Sources/logship/Entrypoint.swift)
[ -n "$version" ] || { echo "release.sh: no version in Sources/logship/Entrypoint.swift" >&2; exit 2; }
arch=$(uname -m)
if [ -z "${LOGSHIP_COMMIT:-}" ]; then
  if commit=$(git rev-parse --short=12 HEAD 2>/dev/null); then
    git diff --quiet HEAD 2>/dev/null || commit="$commit-dirty"
  else
    commit=unknown
  fi
else
  commit=$LOGSHIP_COMMIT
fi
epoch=${SOURCE_DATE_EPOCH:-$(date +%s)}
date=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
swift_version=$(swift --version 2>&1 | sed -n 's/.*Swift version \([0-9][0-9.]*\).*/\1/p' | head -n 1)

# The one build command (tests compare the Dockerfile with this script). --static-swift-stdlib
# links the Swift runtime, Dispatch and Foundation (FoundationNetworking included) from the
# toolchain's lib/swift_static; glibc, libstdc++, zlib, libcrypto and libcurl stay dynamic.
# The stamp goes in as C defines for the CBuildInfo target: Swift's -D has no values.
build=(swift build -c release --static-swift-stdlib --product logship --scratch-path "$scratch"
  -Xcc "-DLOGSHIP_BUILD_COMMIT=\"$commit\"" -Xcc "-DLOGSHIP_BUILD_DATE=\"$date\""
  -Xcc "-DLOGSHIP_BUILD_SWIFT=\"$swift_version\"")
echo "release.sh: logship $version ($commit, $date, Swift $swift_version) for linux-$arch" >&2
"${build[@]}"
bin="$("${build[@]}" --show-bin-path)/logship"

# A release binary must not need a Swift toolchain where it runs.
if ldd "$bin" | grep -E 'libswift|libFoundation|libdispatch|libBlocksRuntime'; then
  echo "release.sh: $bin links the Swift runtime dynamically (above); the static libraries in" >&2
  echo "  $(dirname "$(dirname "$(command -v swift)")")/lib/swift_static are missing or unused" >&2
  exit 1
fi

name="logship-$version-linux-$arch"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/$name"
mkdir -p "$root/completions" "$root/man" "$root/docs"
cp "$bin" "$root/logship"
strip "$root/logship" 2>/dev/null || true
cp README.md "$root/README.md"
# The README links into docs/: the reference travels with it.
cp docs/*.md "$root/docs/"
"$root/logship" completion bash > "$root/completions/logship.bash"
"$root/logship" completion zsh > "$root/completions/_logship"
"$root/logship" completion fish > "$root/completions/logship.fish"
"$root/logship" man > "$root/man/logship.1"
cat > "$root/NOTICE" <<NOTICE
logship $version (commit $commit, built $date with Swift $swift_version)

This archive's logship binary contains, linked statically, the Swift standard library and
runtime, swift-corelibs-libdispatch, swift-corelibs-foundation and swift-foundation
(FoundationEssentials, FoundationInternationalization, FoundationNetworking), each
Copyright Apple Inc. and the Swift project authors, licensed under the Apache License 2.0
with Runtime Library Exception (https://swift.org/LICENSE.txt), and ICU data and code from
swift-foundation-icu (Unicode License V3, https://www.unicode.org/license.txt).

It loads from the system, at run time: the GNU C library, libstdc++, zlib (zlib License),
OpenSSL's libcrypto (Apache License 2.0) and libcurl (curl License).
NOTICE
chmod 0755 "$root/logship"
chmod 0644 "$root/README.md" "$root"/docs/*.md "$root/NOTICE" "$root/man/logship.1" "$root"/completions/*

mkdir -p "$dist"
archive="$dist/$name.tar.gz"
# Sorted names, fixed owners and times, gzip without a timestamp: the archive adds nothing
# of the machine or the moment it was packed beyond SOURCE_DATE_EPOCH.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -C "$stage" -cf - "$name" | gzip -9n > "$archive"
(cd "$dist" && sha256sum logship-*.tar.gz > SHA256SUMS)
echo "release.sh: wrote $archive and $dist/SHA256SUMS" >&2
