import Experiments
import Testing

/// `experiment mitigation`'s arms: the right mitigations per resolution, and bad settings refused by name.
@Suite struct MitigationExperimentTests {
    @Test func armsCoverEveryMitigationPerResolution() throws {
        var e = MitigationExperiment()
        e.inputBits = [4]
        e.outputBits = [4, 6]
        e.ensemble = 3
        let names = try e.arms().map(\.name)
        #expect(names == ["K-FAC (digital)",
                          "TK-FAC out 4b", "TK-FAC out 4b dither", "TK-FAC out 4b ×3", "TK-FAC out 4b dither ×3",
                          "TK-FAC out 6b", "TK-FAC out 6b dither", "TK-FAC out 6b ×3", "TK-FAC out 6b dither ×3",
                          "TK-FAC in 4b cons.", "TK-FAC in 4b spectral", "TK-FAC in 4b cons. stoch. ×3",
                          "TK-FAC out 16b (reference)"])
        // Each arm's printed settings carry its mitigation.
        let settings = try e.arms().map(\.settings)
        #expect(settings[2].contains("subtractiveDither") && settings[3].contains("ensemble of 3"))
        #expect(settings[10].contains("spectralShift") && settings[11].contains("(stochastic)"))
    }

    @Test func badSettingsAreRefused() {
        var e = MitigationExperiment()
        e.ensemble = 1
        #expect(throws: ExperimentError.self) { try e.validate() }
        e.ensemble = 4
        e.outputBits = [0]
        #expect { try e.validate() } throws: { "\($0)".contains("bits") }
    }
}
