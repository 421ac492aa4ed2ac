#include "build_info.h"

// Defaults for builds that are not releases; see build_info.h.
#ifndef LOGSHIP_BUILD_COMMIT
#define LOGSHIP_BUILD_COMMIT "unknown"
#endif
#ifndef LOGSHIP_BUILD_DATE
#define LOGSHIP_BUILD_DATE "unknown"
#endif
#ifndef LOGSHIP_BUILD_SWIFT
#define LOGSHIP_BUILD_SWIFT ""
#endif

const char *logship_build_commit(void) { return LOGSHIP_BUILD_COMMIT; }
const char *logship_build_date(void) { return LOGSHIP_BUILD_DATE; }
const char *logship_build_swift(void) { return LOGSHIP_BUILD_SWIFT; }
