import ArgumentParser
import Testing
import ThermogradCLI

/// What a new user sees in `--help`: examples that stay on one line in an 80-column terminal, and option
/// value lists that name only the values the option accepts.
@Suite struct HelpTextTests {
    /// Every command reachable from the root, depth first.
    static func allCommands(_ root: ParsableCommand.Type = ThermogradCommand.self) -> [ParsableCommand.Type] {
        [root] + root.configuration.subcommands.flatMap { allCommands($0) }
    }

    @Test func examplesDoNotWrapAtEightyColumns() {
        var checked = 0
        for command in Self.allCommands() {
            let help = ThermogradCommand.helpMessage(for: command, columns: 80)
            let renderedLines = Set(help.split(separator: "\n", omittingEmptySubsequences: false)
                .map { String($0).trimmingTrailingSpaces })
            // Indented discussion lines are examples and command lines: the renderer must print each unchanged.
            for line in command.configuration.discussion.split(separator: "\n") where line.hasPrefix("  ") {
                let expected = String(line).trimmingTrailingSpaces
                let wrapped = !renderedLines.contains(expected)
                #expect(!wrapped, "'\(command._commandName)' help wraps the example line: \(expected)")
                checked += 1
            }
        }
        #expect(checked >= 10, "expected the commands' examples to be found, saw \(checked) lines")
    }

    @Test func innerOptimizerListsOnlyFirstOrderOptimizers() throws {
        let train = try #require(Self.allCommands().first { $0._commandName == "train" })
        let help = ThermogradCommand.helpMessage(for: train, columns: 200)
        let line = try #require(help.split(separator: "\n").first { $0.contains("--inner <inner>") })
        #expect(line.contains("values: sgd, adam, adamw;"), "\(line)")
        #expect(!line.contains("kfac") && !line.contains("tngd"), "\(line)")
    }

    @Test(arguments: [["train", "--optimizer", "kfac", "--inner", "kfac"],
                      ["experiment", "compare", "--kfac-inner", "tngd"]])
    func innerOptimizerRejectsCurvatureOptimizers(arguments: [String]) {
        #expect(throws: (any Error).self) { _ = try ThermogradCommand.parseAsRoot(arguments) }
    }
}

private extension String {
    var trimmingTrailingSpaces: String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
