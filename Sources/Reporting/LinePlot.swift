import Foundation

/// One line of a plot: named `(x, y)` points drawn in order (non-finite points break the line).
public struct PlotSeries: Sendable, Equatable {
    public var name: String
    public var points: [PlotPoint]
    /// CSS colour; nil picks the next colour of the palette.
    public var color: String?
    public var dashed: Bool
    /// Draw a small circle at every point (for sparse series such as per-epoch evaluations).
    public var markers: Bool

    public init(name: String, points: [PlotPoint], color: String? = nil, dashed: Bool = false, markers: Bool = false) {
        self.name = name
        self.points = points
        self.color = color
        self.dashed = dashed
        self.markers = markers
    }

    public init(name: String, x: [Double], y: [Double], color: String? = nil, dashed: Bool = false, markers: Bool = false) {
        precondition(x.count == y.count, "PlotSeries \(name): \(x.count) x values but \(y.count) y values")
        self.init(name: name, points: zip(x, y).map { PlotPoint(x: $0, y: $1) }, color: color, dashed: dashed, markers: markers)
    }
}

public struct PlotPoint: Sendable, Equatable {
    public var x: Double
    public var y: Double
    public init(x: Double, y: Double) { self.x = x; self.y = y }
}

/// One set of axes: title, axis labels, series, linear or logarithmic y.
public struct PlotPanel: Sendable, Equatable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [PlotSeries]
    public var logarithmicY: Bool

    public init(title: String, xLabel: String, yLabel: String, series: [PlotSeries], logarithmicY: Bool = false) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.logarithmicY = logarithmicY
    }
}

/// An SVG figure of one or more line-plot panels in a grid (`columns` per row), self-contained (no
/// scripts, no external fonts), viewable in any browser. Axes get "nice" ticks (1, 2, 5 × 10ᵏ, or
/// powers of ten on a log axis); each panel has a legend in a column to the right of its axes, so that it
/// never hides a curve (the figure grows by the legend's width instead of the axes shrinking).
public struct LinePlot: Sendable, Equatable {
    public var title: String?
    public var panels: [PlotPanel]
    public var columns: Int
    public var panelWidth: Double
    public var panelHeight: Double
    /// Lines printed small under the panels: the settings the figure was made with, so that it carries them.
    /// A line wider than the figure is wrapped at spaces (see `captionLines`).
    public var caption: [String] = []

    public static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    public init(title: String? = nil, panels: [PlotPanel], columns: Int = 2, panelWidth: Double = 460, panelHeight: Double = 300) {
        precondition(columns >= 1 && !panels.isEmpty, "a plot needs at least one panel and one column")
        self.title = title
        self.panels = panels
        self.columns = columns
        self.panelWidth = panelWidth
        self.panelHeight = panelHeight
    }

    /// "Nice" tick values covering `[low, high]` with about `target` ticks.
    public static func ticks(low: Double, high: Double, target: Int = 5) -> [Double] {
        guard low.isFinite, high.isFinite, high > low else { return [low] }
        let raw = (high - low) / Double(max(target, 1))
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var t = ceil(low / step - 1e-9) * step
        var out: [Double] = []
        while t <= high + step * 1e-9 { out.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
        return out
    }

    /// Tick positions (as log10 values) on a logarithmic axis spanning `[low, high]` in log10 units:
    /// the powers of ten, or 1, 2, 5 × 10ᵏ below two decades (1, 2, 3, 5, 7 × 10ᵏ below one).
    public static func logarithmicTicks(low: Double, high: Double) -> [Double] {
        guard low.isFinite, high.isFinite, high > low else { return [low] }
        let decades = Array(Int(floor(low))...Int(ceil(high)))
        let mantissas: [Double] = high - low < 1 ? [1, 2, 3, 5, 7] : high - low < 2 ? [1, 2, 5] : [1]
        return decades.flatMap { d in mantissas.map { log10($0) + Double(d) } }.filter { $0 >= low - 1e-12 && $0 <= high + 1e-12 }
    }

    static func format(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e5 || a < 1e-3 { return String(format: "%.0e", v) }
        if v == v.rounded() { return String(Int(v)) }
        return String(format: "%g", (v * 1e6).rounded() / 1e6)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// Width of the legend column: the longest series name at ≈ 6.2 px per character (11 px Helvetica),
    /// plus the line sample; at most 240 px (longer names are clipped by the viewer, not wrapped).
    var legendWidth: Double {
        let longest = panels.flatMap(\.series).map(\.name.count).max() ?? 0
        return longest == 0 ? 0 : Swift.min(240, 38 + 6.2 * Double(longest))
    }

    /// `text` broken at spaces into lines of at most `columns` characters (a word longer than that is cut).
    public static func wrap(_ text: String, columns: Int) -> [String] {
        precondition(columns >= 1, "wrap needs at least one column")
        var lines: [String] = [], current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            var word = Substring(word)
            if !current.isEmpty && current.count + 1 + word.count <= columns { current += " " + word; continue }
            if !current.isEmpty { lines.append(current); current = "" }
            while word.count > columns { lines.append(String(word.prefix(columns))); word = word.dropFirst(columns) }
            current = String(word)
        }
        if !current.isEmpty || lines.isEmpty { lines.append(current) }
        return lines
    }

    /// The caption as drawn: each line wrapped to the figure's width at ≈ 5.6 px per character (10 px Helvetica).
    public var captionLines: [String] {
        let columns = Swift.max(40, Int((figureWidth - 16) / 5.6))
        return caption.flatMap { Self.wrap($0, columns: columns) }
    }

    var figureWidth: Double { Double(min(columns, panels.count)) * (panelWidth + legendWidth) }

    /// The SVG document.
    public func svg() -> String {
        let rows = (panels.count + columns - 1) / columns
        let top = title == nil ? 0.0 : 30
        let cellWidth = panelWidth + legendWidth
        let width = figureWidth
        let caption = captionLines
        let height = top + Double(rows) * panelHeight + (caption.isEmpty ? 0 : 8 + 13 * Double(caption.count))
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="11">
        <rect width="100%" height="100%" fill="white"/>

        """
        if let title { s += "<text x=\"\(width / 2)\" y=\"20\" text-anchor=\"middle\" font-size=\"15\">\(Self.escape(title))</text>\n" }
        for (i, panel) in panels.enumerated() {
            let ox = Double(i % columns) * cellWidth, oy = top + Double(i / columns) * panelHeight
            s += render(panel, originX: ox, originY: oy)
        }
        for (i, line) in caption.enumerated() {
            let y = top + Double(rows) * panelHeight + 13 * Double(i + 1)
            s += "<text x=\"8\" y=\"\(y)\" font-size=\"10\" fill=\"#444\">\(Self.escape(line))</text>\n"
        }
        return s + "</svg>\n"
    }

    /// Writes the SVG atomically to `path`.
    public func write(to path: String) throws { try AtomicFile.write(svg(), to: path) }

    private func render(_ panel: PlotPanel, originX: Double, originY: Double) -> String {
        let (left, right, topMargin, bottom) = (62.0, 14.0, 26.0, 42.0)
        let plotW = panelWidth - left - right, plotH = panelHeight - topMargin - bottom
        let x0 = originX + left, y0 = originY + topMargin
        let log = panel.logarithmicY
        let points = panel.series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite && (!log || $0.y > 0) }
        var s = "<g>\n<text x=\"\(x0 + plotW / 2)\" y=\"\(originY + 16)\" text-anchor=\"middle\" font-size=\"13\">\(Self.escape(panel.title))</text>\n"
        s += "<rect x=\"\(x0)\" y=\"\(y0)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"none\" stroke=\"#444\"/>\n"
        guard !points.isEmpty else { return s + "<text x=\"\(x0 + plotW / 2)\" y=\"\(y0 + plotH / 2)\" text-anchor=\"middle\">no data</text>\n</g>\n" }
        var (xLow, xHigh) = (points.map(\.x).min()!, points.map(\.x).max()!)
        func ty(_ y: Double) -> Double { log ? log10(y) : y }
        var (yLow, yHigh) = (points.map { ty($0.y) }.min()!, points.map { ty($0.y) }.max()!)
        if xHigh <= xLow { xLow -= 0.5; xHigh += 0.5 }
        if yHigh <= yLow { yLow -= log ? 0.5 : max(abs(yLow) * 0.05, 0.5); yHigh += log ? 0.5 : max(abs(yHigh) * 0.05, 0.5) }
        let pad = (yHigh - yLow) * 0.04
        yLow -= pad; yHigh += pad
        func px(_ x: Double) -> Double { x0 + (x - xLow) / (xHigh - xLow) * plotW }
        func py(_ y: Double) -> Double { y0 + plotH - (ty(y) - yLow) / (yHigh - yLow) * plotH }
        for t in Self.ticks(low: xLow, high: xHigh) {
            let x = px(t)
            s += "<line x1=\"\(x)\" y1=\"\(y0)\" x2=\"\(x)\" y2=\"\(y0 + plotH)\" stroke=\"#e5e5e5\"/>"
            s += "<text x=\"\(x)\" y=\"\(y0 + plotH + 14)\" text-anchor=\"middle\">\(Self.format(t))</text>\n"
        }
        let yTicks = log ? Self.logarithmicTicks(low: yLow, high: yHigh) : Self.ticks(low: yLow, high: yHigh)
        for t in yTicks where t >= yLow - 1e-12 && t <= yHigh + 1e-12 {
            let y = y0 + plotH - (t - yLow) / (yHigh - yLow) * plotH
            s += "<line x1=\"\(x0)\" y1=\"\(y)\" x2=\"\(x0 + plotW)\" y2=\"\(y)\" stroke=\"#e5e5e5\"/>"
            s += "<text x=\"\(x0 - 5)\" y=\"\(y + 4)\" text-anchor=\"end\">\(log ? Self.format(pow(10, t)) : Self.format(t))</text>\n"
        }
        s += "<text x=\"\(x0 + plotW / 2)\" y=\"\(y0 + plotH + 32)\" text-anchor=\"middle\">\(Self.escape(panel.xLabel))</text>\n"
        s += "<text transform=\"translate(\(originX + 14) \(y0 + plotH / 2)) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(panel.yLabel))</text>\n"
        for (k, series) in panel.series.enumerated() {
            let color = series.color ?? Self.palette[k % Self.palette.count]
            var segments: [[String]] = [[]]
            for p in series.points {
                if p.x.isFinite && p.y.isFinite && (!log || p.y > 0) {
                    segments[segments.count - 1].append(String(format: "%.2f,%.2f", px(p.x), py(p.y)))
                } else if !segments[segments.count - 1].isEmpty { segments.append([]) }
            }
            let dash = series.dashed ? " stroke-dasharray=\"5,3\"" : ""
            for seg in segments where !seg.isEmpty {
                s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.6\"\(dash) points=\"\(seg.joined(separator: " "))\"/>\n"
                if series.markers || seg.count == 1 {
                    for pt in seg { let c = pt.split(separator: ","); s += "<circle cx=\"\(c[0])\" cy=\"\(c[1])\" r=\"2.5\" fill=\"\(color)\"/>" }
                    s += "\n"
                }
            }
            // Legend column right of the axes, from the top of the axes: entries 15 px apart, closer (with a
            // smaller font) when many series would otherwise run past the panel.
            let spacing = Swift.min(15, (plotH + bottom - 12) / Double(Swift.max(panel.series.count, 1)))
            let ly = y0 + 10 + Double(k) * spacing, lx = x0 + plotW + 10
            let font = spacing < 13 ? " font-size=\"\(String(format: "%.1f", Swift.max(spacing - 2, 6)))\"" : ""
            s += "<line x1=\"\(lx)\" y1=\"\(ly - 4)\" x2=\"\(lx + 20)\" y2=\"\(ly - 4)\" stroke=\"\(color)\" stroke-width=\"2\"\(dash)/>"
            s += "<text x=\"\(lx + 25)\" y=\"\(ly)\"\(font)>\(Self.escape(series.name))</text>\n"
        }
        return s + "</g>\n"
    }
}
