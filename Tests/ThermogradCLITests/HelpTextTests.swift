import ArgumentParser
import Foundation
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

    /// No command declares one flag twice (two option groups with the same knob): ArgumentParser checks this in
    /// debug builds only, and a release build silently gives the value to one of them (`experiment mitigation`'s
    /// own `--ensemble` was unreachable behind the TK-FAC group's).
    @Test func noCommandDeclaresAFlagTwice() {
        var checked = 0
        for command in Self.allCommands() where command.configuration.subcommands.isEmpty {
            var seen: [String: Int] = [:]
            for line in ThermogradCommand.helpMessage(for: command, columns: 400).split(separator: "\n") {
                let t = line.trimmingCharacters(in: .whitespaces)
                guard t.hasPrefix("-") else { continue }
                // "-h, --help", "--name <name>", "--flag/--no-flag": every name before the first space-separated value.
                let names = t.split(separator: " ").prefix { $0.hasPrefix("-") }.flatMap { $0.split(separator: "/") }
                for name in names { seen[String(name.trimmingCharacters(in: CharacterSet(charactersIn: ","))), default: 0] += 1 }
            }
            for (name, count) in seen where count > 1 {
                Issue.record("'\(command._commandName)' declares \(name) \(count) times")
            }
            checked += 1
        }
        #expect(checked >= 20, "expected every leaf command to be checked, saw \(checked)")
    }

    /// An option shows its default once: a help text that states it (`defaulted(…)`) belongs to an option without
    /// a Swift default value, or ArgumentParser appends its own "(default: …)" after it.
    @Test func noOptionShowsItsDefaultTwice() {
        var checked = 0
        for command in Self.allCommands() where command.configuration.subcommands.isEmpty {
            // An option's help starts on its name's line, or on the next when the name is long; it ends at the
            // next option, blank line or section title.
            var options: [String] = []
            for line in ThermogradCommand.helpMessage(for: command, columns: 2000).split(separator: "\n", omittingEmptySubsequences: false) {
                let t = line.trimmingCharacters(in: .whitespaces)
                if t.hasPrefix("-") { options.append(t) } else if !t.isEmpty && line.hasPrefix(" "), !options.isEmpty {
                    options[options.count - 1] += " " + t
                } else if !options.isEmpty && !options[options.count - 1].isEmpty { options.append("") }
            }
            for t in options where !t.isEmpty {
                checked += 1
                let shown = t.components(separatedBy: "(default:").count - 1
                #expect(shown <= 1, "'\(command._commandName)' shows a default \(shown) times: \(t)")
            }
        }
        #expect(checked >= 200, "expected every option of every leaf command to be checked, saw \(checked)")
    }

    @Test func innerOptimizerListsOnlyFirstOrderOptimizers() throws {
        let train = try #require(Self.allCommands().first { $0._commandName == "train" })
        let help = ThermogradCommand.helpMessage(for: train, columns: 200)
        let line = try #require(help.split(separator: "\n").first { $0.contains("--inner <inner>") })
        #expect(line.contains("values: sgd, adam, adamw)"), "\(line)")
        #expect(!line.contains("kfac") && !line.contains("tngd"), "\(line)")
    }

    /// One flag per device knob in every command that has a device, each showing its default (read from the
    /// configurations' default instances: TK-FAC β = 10⁶, TNGD β = 1/κ0 = 1000, the simulator's β = 1).
    @Test(arguments: [("train", ["--beta": "tkfac 1000000.0, tngd 1000.0", "--dac-bits": "tkfac ideal, tngd ideal", "--dt": "tngd 0.1"]),
                      ("bench train-step", ["--beta": "tkfac 1000000.0, tngd 1000.0", "--device-seed": "tkfac 0"]),
                      ("simulate solve", ["--beta": "1.0", "--dt": "0.5", "--integrator": "eigenbasis", "--chains": "64"]),
                      ("experiment compare", ["--dac-bits": "tkfac 8", "--adc-bits": "tkfac 8", "--beta": "tkfac 1000000.0"]),
                      ("experiment quantization", ["--dac-bits": "tkfac ideal", "--dac-range": "tkfac auto"]),
                      ("experiment tngd-mnist", ["--beta": "tngd 1000.0", "--integrator": "tngd exact", "--tngd-damping": "0.01"])])
    func deviceOptionsShowTheirDefaults(command path: String, expected: [String: String]) throws {
        var command: ParsableCommand.Type = ThermogradCommand.self
        for name in path.split(separator: " ") {
            command = try #require(command.configuration.subcommands.first { $0._commandName == name })
        }
        let lines = ThermogradCommand.helpMessage(for: command, columns: 400).split(separator: "\n")
        for (flag, shown) in expected {
            let start = try #require(lines.firstIndex { $0.trimmingCharacters(in: .whitespaces).hasPrefix(flag + " ") }, "\(path): no \(flag)")
            // An option's help continues on the following indented lines, up to the next option.
            let end = lines[(start + 1)...].firstIndex { $0.trimmingCharacters(in: .whitespaces).hasPrefix("-") } ?? lines.endIndex
            let line = lines[start..<end].map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
            #expect(line.contains("(default: \(shown))"), "\(path): \(line)")
        }
        for hidden in ["--input-bits", "--output-bits", "--tngd-dac-bits", "--tngd-noise", "--tkfac-integrator"] {
            #expect(!lines.contains { $0.contains(hidden + " ") }, "\(path) still has \(hidden)")
        }
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
