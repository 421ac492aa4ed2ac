// What `logship --version` reports about the build. scripts/release.sh sets the values with
// `-Xcc -DLOGSHIP_BUILD_COMMIT="..."` (and _DATE, _SWIFT): Swift's -D defines carry no values, C's
// do, and a flag on the command line leaves the source tree untouched (no generated file to
// forget, no dirty checkout). A plain `swift build` gets "unknown".
#ifndef LOGSHIP_BUILD_INFO_H
#define LOGSHIP_BUILD_INFO_H

/// The git commit the binary was built from ("unknown" outside scripts/release.sh).
const char *logship_build_commit(void);
/// When it was built, UTC, ISO 8601 ("unknown" outside scripts/release.sh).
const char *logship_build_date(void);
/// The compiler's version as `swift --version` printed it ("" outside scripts/release.sh).
const char *logship_build_swift(void);

#endif
