import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore

@Suite struct DCRComparisonTests {
    let stream = DCRDeclaration.Stream(
        name: "Custom-App",
        columns: [
            .init(name: "TimeGenerated", type: .datetime), .init(name: "Message", type: .string),
            .init(name: "Status", type: .int),
            .init(name: "Bytes", type: .long), .init(name: "Ms", type: .real), .init(name: "Ok", type: .boolean),
            .init(name: "At", type: .datetime),
            .init(name: "Bag", type: .dynamic), .init(name: "Never", type: .string),
        ])

    func parsed(_ json: [String]) -> [(location: String, members: [(name: String, value: SchemaInference.Value)])] {
        json.enumerated().compactMap { k, j in SchemaInference.parse(Array(j.utf8)).map { ("in.ndjson:\(k + 1)", $0) } }
    }

    @Test func matchingRecordsGiveOnlyTheNeverSentColumn() {
        let w = DCRComparison.compare(
            parsed([
                #"{"TimeGenerated":"2026-11-23T10:00:00Z","Message":"m","Status":200,"Bytes":5000000000,"Ms":1.5,"Ok":true,"At":"2026-11-23T10:00:00.123Z","Bag":{"a":[1]}}"#
            ]),
            stream: stream, path: "dcr.json")
        #expect(w.map(\.kind) == [.missingColumn])
        #expect(w.first?.message.contains(": Never;") == true)
    }

    @Test func extraMismatchedAndMissing() {
        let w = DCRComparison.compare(
            parsed([
                #"{"TimeGenerated":"2026-11-23T10:00:00Z","message":"m","Status":"200","Bytes":1.5,"Ok":"yes","At":"yesterday","Extra":1}"#,
                #"{"TimeGenerated":"2026-11-23T10:00:00Z","Status":3000000000,"Extra":2}"#,
            ]),
            stream: stream, path: "dcr.json")
        let byKind = Dictionary(grouping: w, by: \.kind)
        #expect(byKind[.undeclaredColumn]?.map(\.field) == ["message", "Extra"])
        #expect(byKind[.undeclaredColumn]?.first?.message.contains("write it as declared, \"Message\"") == true)
        #expect(byKind[.undeclaredColumn]?.last?.records == 2)
        #expect(byKind[.columnTypeMismatch]?.map(\.field) == ["Status", "Bytes", "Ok", "At"])
        let status = byKind[.columnTypeMismatch]?.first
        #expect(status?.records == 2, "a string, and a number past Int32")
        #expect(status?.message.contains("declared int") == true && status?.message.contains("type: \"int\"") == true)
        #expect(byKind[.missingColumn]?.first?.message.contains("Message, Ms, Bag, Never") == true)
    }

    @Test func timeGeneratedIsRequiredWithOrWithoutADeclaration() {
        let w = DCRComparison.timeGenerated(
            parsed([#"{"a":1}"#, #"{"TimeGenerated":null}"#, #"{"TimeGenerated":"2026-11-23T10:00:00Z"}"#]))
        #expect(w.map(\.kind) == [.missingTimeGenerated])
        #expect(w.first?.records == 2)
        #expect(w.first?.message.contains("first in.ndjson:1") == true)
    }
}
