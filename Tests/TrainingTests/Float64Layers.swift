import Foundation

/// Float64 references of the layers, for the gradient tests that check whole heads and streams.
protocol Float64Layers {}

extension Float64Layers {
    func gelu(_ x: Double) -> Double { 0.5 * x * (1 + erf(x / 2.0.squareRoot())) }

    func layerNorm(_ x: [Double], _ g: [Double], _ b: [Double], eps: Double = 1e-5) -> [Double] {
        let mean = x.reduce(0, +) / Double(x.count)
        let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count)
        return x.indices.map { (x[$0] - mean) / (variance + eps).squareRoot() * g[$0] + b[$0] }
    }

    /// y = W x + b with W (out,in) row-major.
    func linear(_ x: [Double], _ w: [Double], _ b: [Double]?) -> [Double] {
        let n = x.count
        var y = [Double](repeating: 0, count: w.count / n)
        for o in y.indices {
            var sum: Double = b?[o] ?? 0
            for i in 0..<n { sum += w[o * n + i] * x[i] }
            y[o] = sum
        }
        return y
    }
}
