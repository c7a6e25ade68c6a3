import Datasets
import Foundation
import Linalg
import Reporting
import Testing
import Training

/// Properties of the parsers, checked on many seeded random inputs (the fuzz targets in fuzz/ search the
/// same parsers for crashes; these state what a correct parse is): writing then reading gives back what was
/// written, for safetensors files, CSV rows and IDX arrays; and any truncation of a valid file is refused,
/// never misread.
@Suite struct ParserPropertyTests {
    static let cases = 200

    func randomText(_ rng: inout Xoshiro256StarStar, length: Int) -> String {
        // Commas, quotes, CR, LF, CRLF, spaces, non-ASCII and combining marks: the characters that break CSV.
        let alphabet: [String] = ["a", "7", ",", "\"", "\r", "\n", "\r\n", " ", "é", "e\u{301}", "😀", ".", "-"]
        return (0..<length).map { _ in alphabet[rng.nextInt(below: alphabet.count)] }.joined()
    }

    @Test func csvRowsSurviveAWriteAndARead() {
        var rng = Xoshiro256StarStar(seed: 2026)
        for _ in 0..<Self.cases {
            let columns = rng.nextInt(in: 1...5)
            let rows = (0..<rng.nextInt(in: 1...6)).map { _ in (0..<columns).map { _ in randomText(&rng, length: rng.nextInt(in: 0...8)) } }
            let text = rows.map { $0.map(CSVWriter.escape).joined(separator: ",") + "\n" }.joined()
            // The reader drops a bare "\r" outside quotes; the writer quotes every field holding one, so none is lost.
            let back = CSVWriter.parse(text)
            // A single empty field on a line reads as one empty field: the same row.
            #expect(back == rows, "rows \(rows) read back as \(back)")
        }
    }

    @Test func safetensorsFilesSurviveAWriteAndARead() throws {
        var rng = Xoshiro256StarStar(seed: 7)
        for _ in 0..<Self.cases {
            var tensors: [String: SafetensorsTensor] = [:]
            for t in 0..<rng.nextInt(in: 0...4) {
                let (r, c) = (rng.nextInt(in: 0...5), rng.nextInt(in: 1...5))
                var m = Matrix<Float>(rows: r, columns: c)
                m.withUnsafeMutableBufferPointer { rng.fillNormal($0, std: 3) }
                tensors["t\(t).\(randomText(&rng, length: 3))"] = SafetensorsTensor(m)
            }
            var metadata: [String: String] = [:]
            for k in 0..<rng.nextInt(in: 0...3) { metadata["k\(k)"] = randomText(&rng, length: rng.nextInt(in: 0...12)) }
            let file = SafetensorsFile(tensors: tensors, metadata: metadata)
            let data = try file.encoded()
            #expect(try SafetensorsFile(data: data, path: "p") == file)
            // Every proper prefix is refused (the header length or the data section no longer fits).
            let cut = rng.nextInt(below: data.count)
            #expect(throws: CheckpointError.self) { try SafetensorsFile(data: data.prefix(cut), path: "p") }
        }
    }

    @Test func idxArraysSurviveAWriteAndARead() throws {
        var rng = Xoshiro256StarStar(seed: 11)
        for _ in 0..<Self.cases {
            let dims = (0..<rng.nextInt(in: 1...3)).map { _ in rng.nextInt(in: 0...6) }
            let count = dims.reduce(1, *)
            let body = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            var header: [UInt8] = [0, 0, 8, UInt8(dims.count)]
            for d in dims { header += [0, 0, UInt8(d >> 8), UInt8(d & 0xff)] }
            let file = try IDXFile(parsing: header + body, path: "p", expectedDimensions: dims.count)
            #expect(file.dimensions == dims && file.bytes == body)
            if count > 0 {
                #expect(throws: DatasetError.self) { try IDXFile(parsing: header + body.dropLast(), path: "p") }
            }
            #expect(throws: DatasetError.self) { try IDXFile(parsing: header + body + [0], path: "p") }
        }
    }
}
