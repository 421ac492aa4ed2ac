import Foundation

/// `fields.map.X.extract`: the part of a value a regular expression's group matches. The
/// machinery of `source.lines.pattern` (RegexLineMatcher): the regex runs over the value's
/// bytes and the group comes back as a byte range, so nothing is copied but the search text.
/// Values of `$file`, `$host` and `$pipeline` are extracted once per file, input fields per record.
final class ValueExtractor {
    private let matcher: RegexLineMatcher
    /// `g0` (the first named group, renamed for ICU), or nil for group 1.
    private let group: String?

    /// nil when the pattern is unusable (the loader has refused it already: `LinePattern.extractProblem`).
    init?(_ pattern: String) {
        let (icu, names) = LinePattern.icuPattern(pattern)
        guard let re = try? NSRegularExpression(pattern: icu), !names.isEmpty || re.numberOfCaptureGroups > 0 else {
            return nil
        }
        matcher = RegexLineMatcher(regex: re, groups: [])
        group = names.isEmpty ? nil : "g0"
    }

    /// The matched group's bytes inside `value`, or nil when there is no match.
    func extract(_ value: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard let r = matcher.groupRange(value, name: group) else { return nil }
        return UnsafeRawBufferPointer(rebasing: value[r])
    }
}
