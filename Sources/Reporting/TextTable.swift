/// A plain-text table with aligned columns (numbers right-aligned, text left-aligned), or Markdown.
///
///     TextTable(headers: ["epoch", "loss"], rows: [["1", "0.52"]]).render()
public struct TextTable: Sendable, Equatable {
    public var title: String?
    public var headers: [String]
    public var rows: [[String]]

    public init(title: String? = nil, headers: [String], rows: [[String]] = []) {
        self.title = title
        self.headers = headers
        self.rows = rows
    }

    public mutating func append(_ row: [String]) { rows.append(row) }

    private var widths: [Int] {
        headers.indices.map { j in ([headers[j]] + rows.map { j < $0.count ? $0[j] : "" }).map(\.count).max() ?? 0 }
    }

    private static func isNumeric(_ s: String) -> Bool {
        !s.isEmpty && s.allSatisfy { "0123456789.-+e%×x".contains($0) } && s.contains(where: \.isNumber)
    }

    /// The table with a title line, a header, a rule, and one line per row.
    public func render() -> String {
        let w = widths
        func line(_ cells: [String]) -> String {
            headers.indices.map { j in
                let c = j < cells.count ? cells[j] : ""
                let pad = String(repeating: " ", count: w[j] - c.count)
                return Self.isNumeric(c) ? pad + c : c + pad
            }.joined(separator: "  ")
        }
        var out: [String] = []
        if let title { out.append(title) }
        out.append(line(headers))
        out.append(w.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        out += rows.map(line)
        return out.joined(separator: "\n")
    }

    /// The table in GitHub-flavoured Markdown.
    public func markdown() -> String {
        var out = ["| " + headers.joined(separator: " | ") + " |", "|" + headers.map { _ in "---|" }.joined()]
        out += rows.map { "| " + $0.joined(separator: " | ") + " |" }
        return (title.map { "**\($0)**\n\n" } ?? "") + out.joined(separator: "\n")
    }
}
