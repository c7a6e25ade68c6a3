import ArgumentParser
import Foundation
import Testing
import ThermogradCLI

/// `thermograd experiment runtime` on a tiny sweep: every method timed at every point, the cost model's
/// prediction beside each, and the CSV, SVG (with its settings) and table written.
@Suite struct ExperimentRuntimeTests {
    @Test func tinySweepWritesEveryPointAndMethod() throws {
        let dir = NSTemporaryDirectory() + "thermograd-runtime-\(ProcessInfo.processInfo.processIdentifier)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var command = try ThermogradCommand.parseAsRoot([
            "experiment", "runtime", "--parameters", "200", "400", "--batches", "4", "--outputs", "3", "--base-parameters", "200",
            "--base-batch", "4", "--base-outputs", "3", "--inputs", "8", "--repeats", "1", "--tngd-t", "2", "--out", dir,
        ])
        try command.run()
        let csv = try String(contentsOfFile: "\(dir)/runtime.csv", encoding: .utf8)
        let rows = csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        // Points: N ∈ {200, 400}, b ∈ {4}, d_z ∈ {3}: 4 points × 4 methods.
        #expect(rows.count == 16, "\(rows.count) rows")
        #expect(Set(rows.map { $0[5] }) == ["ngd-exact", "ngd-cg", "ngd-woodbury", "tngd"])
        for r in rows {
            let measured = Double(r[6]) ?? .nan, predicted = Double(r[7]) ?? .nan
            #expect(measured > 0 && measured.isFinite && predicted > 0 && predicted.isFinite, "\(r)")
            // The MLP 8 → h → 3 has h·12 + 3 parameters, the closest such count to the requested N.
            let n = Int(r[2])!, h = (n - 3) / 12
            #expect(h * 12 + 3 == n)
            if r[0] == "parameters" { #expect(abs(n - Int(r[1])!) <= 6 || Int(r[1])! == n) }
        }
        let svg = try String(contentsOfFile: "\(dir)/runtime.svg", encoding: .utf8)
        #expect(svg.contains("ngd-woodbury measured") && svg.contains("tngd predicted (device)"))
        #expect(svg.contains("load average") && svg.contains("NGD-CG 10 iterations"), "the figure carries its settings")
        #expect(FileManager.default.fileExists(atPath: "\(dir)/runtime-table.txt"))
    }

    @Test func badSweepsAreRefusedByName() {
        for (arguments, expected) in [(["--parameters", "50"], "--parameters"), (["--outputs", "1"], "--outputs"),
                                      (["--axes", "depth"], "unknown axis 'depth'"), (["--repeats", "0"], "--repeats")] {
            do {
                _ = try ThermogradCommand.parseAsRoot(["experiment", "runtime"] + arguments)
                Issue.record("\(arguments) was accepted")
            } catch {
                #expect(ThermogradCommand.message(for: error).contains(expected), "\(arguments): \(ThermogradCommand.message(for: error))")
            }
        }
    }
}
