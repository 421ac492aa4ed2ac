import LogshipSupport
import Testing

/// The one "did you mean" rule, as the command line uses it (the pipeline loader's cases, with
/// its aliases, are in BrokenPipelineTests).
@Suite struct NearestNameTests {
    static let commands = [
        "run", "validate", "preview", "status", "replay", "dcr", "emulate", "init", "completion", "man",
    ]

    @Test(arguments: [
        ("rnu", "run"), ("Run", "run"), ("valdiate", "validate"), ("preveiw", "preview"), ("stats", "status"),
        ("emulator", "emulate"), ("complet", "completion"),
    ])
    func commandTypos(_ written: String, _ meant: String) {
        #expect(NearestName.nearest(written, in: Self.commands) == meant)
    }

    /// A short word three edits from a command is no typo of it (the command line's own rule
    /// once offered `man` for `foo`).
    @Test func noHintWhenNothingIsClose() {
        #expect(NearestName.nearest("foo", in: Self.commands) == nil)
        #expect(NearestName.nearest("xyz", in: ["--state-dir", "--report", "--help"]) == nil)
        #expect(NearestName.nearest("anything", in: []) == nil)
    }

    @Test func options() {
        let options = ["--state-dir", "--report", "--concurrency", "--restart", "--help"]
        #expect(NearestName.nearest("--concurency", in: options) == "--concurrency")
        #expect(NearestName.nearest("--state-directory", in: options) == "--state-dir")
        #expect(NearestName.nearest("--reprot", in: options) == "--report")
    }

    @Test func aliasesComeBeforeDistance() {
        #expect(NearestName.nearest("integer", in: ["int", "long"], aliases: ["integer": ["int"]]) == "int")
        #expect(NearestName.nearest("number", in: ["int", "double"], aliases: ["number": ["double"]]) == "double")
        #expect(NearestName.nearest("number", in: ["int", "double"]) == nil)
    }

    @Test func distanceIsLevenshtein() {
        #expect(NearestName.distance("kitten", "sitting") == 3)
        #expect(NearestName.distance("", "abc") == 3)
        #expect(NearestName.distance("abc", "abc") == 0)
    }
}
