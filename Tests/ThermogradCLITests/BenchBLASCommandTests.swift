import Testing
import ThermogradCLI

/// Bad options to `thermograd bench blas` are usage errors (a parse/validation throw), never a crash.
@Suite("bench blas options")
struct BenchBLASCommandTests {
    @Test func acceptsDefaultsAndSizes() throws {
        _ = try ThermogradCommand.parseAsRoot(["bench", "blas"])
        _ = try ThermogradCommand.parseAsRoot(["bench", "blas", "--sizes", "64", "128", "--threads", "1"])
    }

    @Test(arguments: [["bench", "blas", "--sizes", "0"], ["bench", "blas", "--threads", "0"],
                      ["bench", "blas", "--seconds", "-1"], ["bench", "blas", "--sizes", "abc"],
                      ["bench", "blas", "--no-such-option"], ["bench", "nothing"]])
    func rejectsBadOptions(arguments: [String]) {
        #expect(throws: (any Error).self) { try ThermogradCommand.parseAsRoot(arguments) }
    }
}
