import Foundation
import Testing

/// The repository documents itself: comments cite `docs/<page>.md#section`, every such citation resolves
/// to a page and a heading that exist, and no file refers to material outside the repository.
@Suite struct RepositoryDocsTests {
    /// The repository root, found from this file's path (`Tests/ThermogradTests/…`).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Text files of the repository that people read: sources, tests, docs, build and CI files.
    static func textFiles() -> [URL] {
        let fm = FileManager.default
        var files: [URL] = []
        for top in ["Sources", "Tests", "docs", "bench", "scripts", ".ci"] {
            let dir = root.appendingPathComponent(top)
            guard let walker = fm.enumerator(at: dir, includingPropertiesForKeys: nil) else { continue }
            for case let url as URL in walker where ["swift", "md", "sh", "py", "json", "txt", ""].contains(url.pathExtension)
                && !url.hasDirectoryPath { files.append(url) }
        }
        for name in ["README.md", "Makefile", "Package.swift"] { files.append(root.appendingPathComponent(name)) }
        return files.filter { fm.fileExists(atPath: $0.path) }
    }

    static func relative(_ url: URL) -> String { String(url.path.dropFirst(root.path.count + 1)) }

    @Test func noFileRefersOutsideTheRepository() throws {
        // Built from parts so that this file does not match itself.
        let forbidden = ["REFERENCE" + ".md", "STYLE" + ".md", "../" + "shared", "/work/" + "shared"]
        let files = Self.textFiles()
        #expect(files.count > 100, "found only \(files.count) files under \(Self.root.path)")
        for file in files {
            guard let text = try? String(contentsOf: file, encoding: .utf8) else { continue }
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                for word in forbidden where line.contains(word) {
                    Issue.record("\(Self.relative(file)):\(number + 1) mentions \(word); cite docs/<page>.md#section instead")
                }
            }
        }
    }

    /// GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
    static func anchor(_ heading: String) -> String {
        String(heading.lowercased().compactMap { c -> Character? in
            if c == " " { return "-" }
            return c.isLetter || c.isNumber || c == "-" || c == "_" ? c : nil
        })
    }

    /// Anchors of every heading of `docs/<page>`, nil when the page does not exist.
    static func anchors(ofPage page: String) -> Set<String>? {
        guard let text = try? String(contentsOf: root.appendingPathComponent("docs/\(page)"), encoding: .utf8) else { return nil }
        var result = Set<String>()
        var inCode = false
        for line in text.split(separator: "\n") {
            if line.hasPrefix("```") { inCode.toggle(); continue }
            guard !inCode, line.hasPrefix("#") else { continue }
            result.insert(anchor(String(line.drop { $0 == "#" }.drop { $0 == " " })))
        }
        return result
    }

    @Test func everyDocsCitationResolves() throws {
        // docs/<page>.md#<anchor> anywhere, and ](<page>.md#<anchor>) links between the docs pages.
        let citation = try Regex(#"docs/([a-z0-9-]+\.md)(#[\p{L}\p{N}_-]+)?"#)
        let link = try Regex(#"\]\(([a-z0-9-]+\.md)(#[^)]+)?\)"#)
        var checked = 0
        for file in Self.textFiles() {
            guard let text = try? String(contentsOf: file, encoding: .utf8) else { continue }
            let isDocsPage = Self.relative(file).hasPrefix("docs/")
            var matches = text.matches(of: citation).map { ($0.output[1].substring, $0.output[2].substring) }
            if isDocsPage { matches += text.matches(of: link).map { ($0.output[1].substring, $0.output[2].substring) } }
            for (pageMatch, anchorMatch) in matches {
                guard let page = pageMatch.map(String.init) else { continue }
                checked += 1
                guard let anchors = Self.anchors(ofPage: page) else {
                    Issue.record("\(Self.relative(file)) cites docs/\(page), which does not exist")
                    continue
                }
                if let a = anchorMatch.map({ String($0.dropFirst()) }), !anchors.contains(a) {
                    Issue.record("\(Self.relative(file)) cites docs/\(page)#\(a): no such heading (have: \(anchors.sorted().joined(separator: ", ")))")
                }
            }
        }
        #expect(checked > 0, "no docs citation found")
    }
}
