import Foundation
import Testing

@testable import LogshipCore

/// The progress bar as a pure function of (counters, width, mode) (issue 15 item 4).
@Suite struct ProgressRenderTests {
    static var busy: ProgressCounters.Snapshot {
        var s = ProgressCounters.Snapshot()
        s.totalBytes = 12_345_678_901
        s.bytesRead = 4_567_890_123
        s.recordsRead = 12_345_678
        s.chunksAcked = 12_345
        s.inFlight = 16
        s.retrying = 3
        return s
    }

    /// What a terminal shows of a redraw: the characters between `\r` and the clear-to-end.
    static func visible(_ line: String) -> String {
        var s = line
        if s.hasPrefix("\r") { s.removeFirst() }
        if s.hasSuffix("\u{1B}[K") { s.removeLast(3) }
        return s
    }

    @Test func everyWidthFitsWithoutTheLastColumnAndClearsToTheEnd() {
        for width in 1...220 {
            let line = ProgressDisplay.render(Self.busy, elapsed: 123.4, width: width, mode: .bar)
            #expect(line.hasPrefix("\r") && line.hasSuffix("\u{1B}[K"), "width \(width): \(line.debugDescription)")
            let shown = Self.visible(line)
            #expect(!shown.contains("\u{1B}") && !shown.contains("\n") && !shown.contains("\r"))
            #expect(shown.count <= max(1, width - 1), "width \(width): \(shown.count) columns: \(shown)")
        }
    }

    @Test func narrowTerminalsGetShorterLayoutsNotCutOnes() {
        let wide = Self.visible(ProgressDisplay.render(Self.busy, elapsed: 123.4, width: 160, mode: .bar))
        let eighty = Self.visible(ProgressDisplay.render(Self.busy, elapsed: 123.4, width: 80, mode: .bar))
        let sixty = Self.visible(ProgressDisplay.render(Self.busy, elapsed: 123.4, width: 60, mode: .bar))
        let thirty = Self.visible(ProgressDisplay.render(Self.busy, elapsed: 123.4, width: 30, mode: .bar))
        #expect(wide.contains("in flight") && wide.contains("ETA"))
        // The shorter layouts still end with the ETA: they are laid out for the width, not cut.
        for s in [eighty, sixty] { #expect(s.contains("ETA") && s.contains("acked"), "\(s)") }
        #expect(eighty.count < 80 && sixty.count < 60)
        #expect(
            thirty.contains("37.0%") && thirty.contains("MB/s") && thirty.contains("ETA") && thirty.count < 30,
            "\(thirty)")
    }

    @Test func plainLinesHaveNoEscapes() {
        let line = ProgressDisplay.render(Self.busy, elapsed: 123.4, width: 40, mode: .plain)
        #expect(line.hasPrefix("logship: ") && !line.contains("\u{1B}") && !line.contains("\r") && !line.contains("\n"))
        #expect(line.contains("chunks 12345 acked, 16 in flight, 3 retrying"))
    }

    @Test func dumbTerminalsGetPlainLines() {
        let dumb = ProgressDisplay.Terminal(isTerminal: true, width: 80, dumb: true)
        let tty = ProgressDisplay.Terminal(isTerminal: true, width: 80, dumb: false)
        let pipe = ProgressDisplay.Terminal(isTerminal: false, width: 80, dumb: false)
        #expect(ProgressDisplay.mode("auto", terminal: dumb, quiet: false) == .plain)
        #expect(ProgressDisplay.mode("bar", terminal: dumb, quiet: false) == .plain)
        #expect(ProgressDisplay.mode("auto", terminal: tty, quiet: false) == .bar)
        #expect(ProgressDisplay.mode("auto", terminal: pipe, quiet: false) == .plain)
        #expect(ProgressDisplay.mode("auto", terminal: tty, quiet: true) == ProgressDisplay.Mode.none)
    }

    @Test func widthComesFromColumnsWhenNotATerminal() {
        // Descriptor -1 has no window size: COLUMNS, else 80.
        #expect(ProgressDisplay.Terminal.width(fd: -1, environment: ["COLUMNS": "57"]) == 57)
        #expect(ProgressDisplay.Terminal.width(fd: -1, environment: [:]) == 80)
    }
}
