import ThermogradCLI

ThermogradCommand.main(ThermogradCommand.joiningNegativeNumbers(Array(CommandLine.arguments.dropFirst())))
