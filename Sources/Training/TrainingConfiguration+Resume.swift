import Foundation

/// Which settings must match for `--resume` to continue a run exactly, and a field-by-field comparison
/// that tolerates checkpoints written before a setting existed.
///
/// Why not compare the whole JSON as one string: every new configuration field (a new optimiser knob)
/// would then make every older checkpoint unusable, although the old run used exactly what the new
/// field's default means. Instead the stored settings are compared key by key: a key missing from the
/// checkpoint is accepted when the current value is that field's default, and every real difference is
/// named (`kfac.damping: 0.001 → 0.01`) so the user knows what to change back.
extension TrainingConfiguration {
    /// Version of the resume-fingerprint format stored in checkpoints (metadata key `configuration_format`).
    /// Version 1 (no key) stored the same JSON; the comparison below reads both.
    public static let resumeFingerprintFormat = "2"

    /// The settings that must match for `--resume` to continue a run exactly (all but the output paths,
    /// the logging cadence and the epoch count, which may be raised to train longer), as key-sorted JSON.
    public func resumeFingerprint() -> String {
        Self.fingerprintJSON(normalizedForResume())
    }

    /// The differences that forbid resuming a run whose checkpoint stored `stored` (a fingerprint written by
    /// `resumeFingerprint()`, of this or an earlier build), one line per setting, `path: stored → current`.
    /// Empty when the run can be resumed exactly. A stored fingerprint that is not JSON gives one line saying so.
    public func resumeDifferences(from stored: String) -> [String] {
        guard let old = Self.jsonObject(stored) else { return ["the checkpoint's stored settings are not readable JSON"] }
        guard let new = Self.jsonObject(resumeFingerprint()),
              let defaults = Self.jsonObject(Self.fingerprintJSON(TrainingConfiguration().normalizedForResume())) else {
            return ["the current settings cannot be encoded"]
        }
        var lines: [String] = []
        // Settings the run never reads cannot change its numbers: an Adam run resumes although the TK-FAC
        // defaults moved since its checkpoint (Method 2's readouts 8 → 2 made old Adam runs unresumable).
        let unread = unreadSettingGroups
        func read(_ settings: Any) -> Any {
            (settings as? [String: Any])?.filter { !unread.contains($0.key) } ?? settings
        }
        Self.compare(stored: read(old), current: read(new), defaults: defaults, path: "", into: &lines)
        return lines
    }

    /// The top-level setting groups that this configuration's optimiser and model never read (the K-FAC,
    /// TK-FAC device, NGD and TNGD groups of the other optimisers; the ViT, GIN and LoRA shapes of the other
    /// models). The optimiser and the model themselves are compared, so a resume with another optimiser or
    /// model is still refused by name.
    var unreadSettingGroups: Set<String> {
        var unread = Set<String>()
        if optimizer != .kfac && optimizer != .tkfac { unread.insert("kfac") }
        if optimizer != .tkfac { unread.insert("thermodynamicKFAC") }
        if optimizer != .ngdCG && optimizer != .ngdExact { unread.insert("naturalGradient") }
        if !optimizer.isThermodynamicNaturalGradient { unread.insert("tngd") }
        if model != .vit { unread.insert("vit") }
        if model != .gnn { unread.insert("gnn") }
        if model != .miniLMLoRA { unread.insert("lora") }
        return unread
    }

    private func normalizedForResume() -> TrainingConfiguration {
        var c = self
        c.outputDirectory = ""
        c.dataDirectory = ""
        c.logEvery = 1
        c.evaluateEvery = nil
        c.checkpointEvery = nil
        c.epochs = 1
        return c
    }

    private static func fingerprintJSON(_ c: TrainingConfiguration) -> String {
        (try? String(decoding: JSONEncoder.sorted.encode(c), as: UTF8.self)) ?? ""
    }

    private static func jsonObject(_ text: String) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    /// A leaf rendered canonically (numbers, strings, arrays) so that equal values compare equal.
    private static func canonical(_ value: Any?) -> String {
        guard let value else { return "(unset)" }
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]) else {
            return String(describing: value)
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Walks the union of keys. `defaults` is the default configuration at the same path (nil when the
    /// default has no value there, e.g. an optional that is unset by default).
    private static func compare(stored: Any?, current: Any?, defaults: Any?, path: String, into lines: inout [String]) {
        if let s = stored as? [String: Any], let c = current as? [String: Any] {
            let d = defaults as? [String: Any] ?? [:]
            for key in Set(s.keys).union(c.keys).sorted() {
                let sub = path.isEmpty ? key : path + "." + key
                switch (s[key], c[key]) {
                case let (sv?, cv?):
                    compare(stored: sv, current: cv, defaults: d[key], path: sub, into: &lines)
                case let (nil, cv?):
                    // Written before this setting existed (or unset then): fine if the current value is the default.
                    if canonical(cv) != canonical(d[key]) { lines.append("\(sub): (not in checkpoint) → \(canonical(cv))") }
                case let (sv?, nil):
                    lines.append("\(sub): \(canonical(sv)) → (unset)")
                case (nil, nil):
                    break
                }
            }
            return
        }
        if canonical(stored) != canonical(current) {
            lines.append("\(path.isEmpty ? "settings" : path): \(canonical(stored)) → \(canonical(current))")
        }
    }
}
