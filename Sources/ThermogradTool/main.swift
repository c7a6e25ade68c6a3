import Linalg
import ThermogradCLI

// Freed multi-megabyte buffers are reused instead of page-faulted in again every step (SystemMemory).
SystemMemory.reuseLargeAllocations()
ThermogradCommand.main(ThermogradCommand.joiningNegativeNumbers(Array(CommandLine.arguments.dropFirst())))
