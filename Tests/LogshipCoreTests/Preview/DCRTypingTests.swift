import Foundation
import Testing

@testable import LogshipCore

/// The stream types `logship dcr` declares for sampled records: what the values are, not what
/// the Data Collector API's suffixes made of them (whole numbers were `real`, objects `string`).
@Suite struct DCRTypingTests {
    @Test func valuesGetTheDCRTypeThatHoldsThem() {
        let records = [
            PreviewRecord(
                #"{"n":200,"d":1.5,"b":true,"o":{"a":1},"a":[1,2],"t":"2026-11-22T00:00:00.000Z","s":"x","z":null,"m":1}"#,
                location: "f:1"),
            PreviewRecord(
                #"{"n":204,"d":2,"b":false,"o":{"a":2},"a":[],"t":"2026-11-22T00:00:01Z","s":"y","z":null,"m":"two","big":12345678901234567890}"#,
                location: "f:2"),
        ]
        let cols = SchemaInference.dcrColumns(records).map { "\($0.field):\($0.dcrType):\($0.tableType)" }
        #expect(
            cols == [
                "n:long:long", "d:real:real", "b:boolean:boolean", "o:dynamic:dynamic", "a:dynamic:dynamic",
                "t:datetime:dateTime",
                "s:string:string", "m:string:string", "big:real:real",
            ])
    }
}
