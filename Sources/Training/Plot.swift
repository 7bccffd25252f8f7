import Foundation

/// A line chart as a standalone SVG file: the loss and accuracy curves of a run.
public struct LineChart {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var color: String
        public init(name: String, points: [(x: Double, y: Double)], color: String) {
            (self.name, self.points, self.color) = (name, points, color)
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]

    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        (self.title, self.xLabel, self.yLabel, self.series) = (title, xLabel, yLabel, series)
    }

    public func svg(width: Double = 720, height: Double = 420) -> String {
        let (left, right, top, bottom) = (70.0, 20.0, 40.0, 50.0)
        let all = series.flatMap(\.points).filter { $0.y.isFinite }
        let xs = all.map(\.x), ys = all.map(\.y)
        let (x0, x1) = (xs.min() ?? 0, max((xs.max() ?? 1), (xs.min() ?? 0) + 1e-9))
        var (y0, y1) = (ys.min() ?? 0, ys.max() ?? 1)
        if y1 - y0 < 1e-9 { y0 -= 0.5; y1 += 0.5 }
        let pad = (y1 - y0) * 0.05
        (y0, y1) = (y0 - pad, y1 + pad)
        let pw = width - left - right, ph = height - top - bottom
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * pw }
        func py(_ y: Double) -> Double { top + (1 - (y - y0) / (y1 - y0)) * ph }
        var out = svgHeader(width: width, height: height, title: title) + """
        <rect x="\(left)" y="\(top)" width="\(pw)" height="\(ph)" fill="none" stroke="#888"/>

        """
        for i in 0...5 {
            let fx = Double(i) / 5, x = x0 + fx * (x1 - x0), y = y0 + fx * (y1 - y0)
            out += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n", left, py(y), left + pw, py(y))
            out += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n", px(x), top + ph + 18, Self.label(x))
            out += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%@</text>\n", left - 6, py(y) + 4, Self.label(y))
        }
        out += "<text x=\"\(left + pw / 2)\" y=\"\(height - 10)\" text-anchor=\"middle\">\(svgEscaped(xLabel))</text>\n"
        out += "<text x=\"16\" y=\"\(top + ph / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(top + ph / 2))\">\(svgEscaped(yLabel))</text>\n"
        // The legend in the top right corner, as wide as its longest name (~6.5 px a character at 12 px).
        let longest = Double(series.map(\.name.count).max() ?? 0)
        let legendX = max(left + 10, left + pw - 35 - 6.5 * longest)
        out += "<rect x=\"\(legendX - 5)\" y=\"\(top + 2)\" width=\"\(left + pw - legendX)\" height=\"\(16 * Double(series.count) + 4)\" fill=\"white\" fill-opacity=\"0.85\"/>\n"
        for (k, s) in series.enumerated() where !s.points.isEmpty {
            let path = s.points.filter { $0.y.isFinite }.map { String(format: "%.1f,%.1f", px($0.x), py($0.y)) }.joined(separator: " ")
            out += "<polyline fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.6\" points=\"\(path)\"/>\n"
            let ly = top + 14 + Double(k) * 16
            out += "<line x1=\"\(legendX)\" y1=\"\(ly - 4)\" x2=\"\(legendX + 20)\" y2=\"\(ly - 4)\" stroke=\"\(s.color)\" stroke-width=\"2\"/>"
            out += "<text x=\"\(legendX + 25)\" y=\"\(ly)\">\(svgEscaped(s.name))</text>\n"
        }
        return out + "</svg>\n"
    }

    static func label(_ v: Double) -> String {
        let a = abs(v)
        if a >= 1e7 { return String(format: "%.2g", v) }
        if a >= 10000 { return String(format: "%.0fk", v / 1000) }
        if a >= 100 || v == v.rounded() && a >= 1 { return String(format: "%.0f", v) }
        if a >= 1 { return String(format: "%.2f", v) }
        return String(format: "%.3f", v)
    }
}

/// A bar chart with error bars as a standalone SVG file: one bar per arm of an ablation, its
/// mean over seeds and ± one standard deviation.
public struct BarChart {
    public struct Bar {
        public var name: String
        public var value: Double
        public var error: Double
        public init(name: String, value: Double, error: Double) { (self.name, self.value, self.error) = (name, value, error) }
    }

    public var title: String
    public var yLabel: String
    public var bars: [Bar]

    public init(title: String, yLabel: String, bars: [Bar]) { (self.title, self.yLabel, self.bars) = (title, yLabel, bars) }

    public func svg(width: Double = 520, height: Double = 360) -> String {
        let (left, right, top, bottom) = (70.0, 20.0, 40.0, 60.0)
        let finite = bars.filter { $0.value.isFinite }
        let highest = finite.map { $0.value + max(0, $0.error.isFinite ? $0.error : 0) }.max() ?? 1
        let lowest = min(0, finite.map { $0.value - max(0, $0.error.isFinite ? $0.error : 0) }.min() ?? 0)
        let (y0, y1) = (lowest, max(highest * 1.1, lowest + 1e-9))
        let pw = width - left - right, ph = height - top - bottom
        func py(_ y: Double) -> Double { top + (1 - (y - y0) / (y1 - y0)) * ph }
        var out = svgHeader(width: width, height: height, title: title) + """
        <line x1="\(left)" y1="\(py(0))" x2="\(left + pw)" y2="\(py(0))" stroke="#888"/>

        """
        for i in 0...5 {
            let y = y0 + Double(i) / 5 * (y1 - y0)
            out += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n", left, py(y), left + pw, py(y))
            out += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%@</text>\n", left - 6, py(y) + 4, LineChart.label(y))
        }
        out += "<text x=\"16\" y=\"\(top + ph / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(top + ph / 2))\">\(svgEscaped(yLabel))</text>\n"
        let slot = pw / Double(max(1, bars.count)), barWidth = slot * 0.55
        for (k, bar) in bars.enumerated() where bar.value.isFinite {
            let x = left + slot * (Double(k) + 0.5)
            let (a, b) = (py(max(0, bar.value)), py(min(0, bar.value)))
            out += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%@\"/>\n", x - barWidth / 2, a, barWidth, b - a, chartPalette[k % chartPalette.count])
            if bar.error.isFinite && bar.error > 0 {
                let (hi, lo) = (py(bar.value + bar.error), py(bar.value - bar.error))
                out += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>", x, hi, x, lo)
                out += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>", x - 6, hi, x + 6, hi)
                out += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", x - 6, lo, x + 6, lo)
            }
            out += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n", x, top + ph + 18, svgEscaped(bar.name))
            out += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n", x, top + ph + 34, LineChart.label(bar.value))
        }
        return out + "</svg>\n"
    }
}

/// Text for SVG: &, < and > escaped.
func svgEscaped(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
}

/// An SVG document's opening: its size, a white background and the centred title.
func svgHeader(width: Double, height: Double, title: String) -> String {
    """
    <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
    <rect width="100%" height="100%" fill="white"/>
    <text x="\(width / 2)" y="22" text-anchor="middle" font-size="15">\(svgEscaped(title))</text>

    """
}

/// Line colours, in order (matplotlib's tab10).
public let chartPalette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]

/// Writes `loss.svg` and `accuracy.svg` into a run folder from its metrics.jsonl: the optimised
/// loss and every `*_loss` metric, and every `*_accuracy` metric (the objectives' and the
/// baselines'), training and held out, by whatever names the run's objectives logged.
public func writeRunPlots(runFolder: URL) throws {
    let records = MetricsLog.read(runFolder.appendingPathComponent("metrics.jsonl"))
    func chart(_ title: String, keys: (String) -> Bool) -> LineChart {
        var names = Set<String>()
        for r in records { for (key, value) in r where value is Double && keys(key) { names.insert(key) } }
        var series: [LineChart.Series] = []
        for split in ["train", "eval"] {
            for key in names.sorted() {
                let points = records.compactMap { r -> (x: Double, y: Double)? in
                    guard r["split"] as? String ?? "train" == split, let step = number(r["step"]), let y = r[key] as? Double else { return nil }
                    return (step, y)
                }
                guard !points.isEmpty else { continue }
                series.append(.init(name: "\(split == "eval" ? "held-out" : "train") \(key)", points: points,
                                    color: chartPalette[series.count % chartPalette.count]))
            }
        }
        return LineChart(title: title, xLabel: "step", yLabel: title.lowercased(), series: series)
    }
    let loss = chart("Loss") { $0 == "loss" || $0.hasSuffix("_loss") }
    let accuracy = chart("Accuracy") { $0.hasSuffix("_accuracy") }
    try loss.svg().write(to: runFolder.appendingPathComponent("loss.svg"), atomically: true, encoding: .utf8)
    try accuracy.svg().write(to: runFolder.appendingPathComponent("accuracy.svg"), atomically: true, encoding: .utf8)
}

/// A held-out metric of several runs against their training FLOPs (`pretrain report --plot`):
/// runs compared at equal compute.
public func computeChart(runFolders: [URL], metric: String) -> LineChart {
    let series = runFolders.enumerated().map { index, folder -> LineChart.Series in
        let points = MetricsLog.read(folder.appendingPathComponent("metrics.jsonl")).compactMap { r -> (x: Double, y: Double)? in
            guard r["split"] as? String == "eval", let x = number(r["train_flops"]), let y = r[metric] as? Double else { return nil }
            return (x, y)
        }
        return .init(name: folder.lastPathComponent, points: points, color: chartPalette[index % chartPalette.count])
    }
    return LineChart(title: "held-out \(metric) at equal compute", xLabel: "training FLOPs", yLabel: metric, series: series)
}

/// A JSON number as Double (JSONSerialization gives whole numbers as Int).
func number(_ value: Any?) -> Double? { value as? Double ?? (value as? Int).map(Double.init) }
