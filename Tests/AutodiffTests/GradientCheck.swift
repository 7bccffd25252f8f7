import XCTest
@testable import Autodiff
import Tensors

/// Checks one op: its Float32 forward against a Float64 reference, and its backward against
/// central finite differences of that reference, for the loss L = Σ out ⊙ R with a random R.
///
/// Errors are measured as max|ours − ref| / max(max|ref|, floor): a relative error on the
/// tensor's scale, so tiny entries do not dominate.
struct GradientCheck {
    typealias Reference = ([[Double]]) -> [Double]

    var forwardTolerance: Double = 1e-5
    var gradientTolerance: Double = 1e-4
    var step: Double = 1e-5
    var seed: UInt64 = 7

    /// Runs the check; `inputs` become parameters so their gradients are kept.
    /// `differentiable` lists the inputs whose gradients are compared (default: all).
    func run(_ name: String, inputs: [Tensor], differentiable: [Int]? = nil,
             reference: Reference, op: (Tape, [Variable]) throws -> Variable,
             file: StaticString = #filePath, line: UInt = #line) throws {
        let params = inputs.enumerated().map { Parameter(name: "input\($0.offset)", value: $0.element.copy()) }
        let tape = Tape(seed: seed)
        let vars = params.map { tape.parameter($0) }
        let out = try op(tape, vars)
        let x64 = inputs.map { $0.scalars.map(Double.init) }
        let ref = reference(x64)
        XCTAssertEqual(out.value.count, ref.count, "\(name): output size", file: file, line: line)
        let fwdErr = GradientCheck.relativeError(out.value.scalars.map(Double.init), ref)
        XCTAssertLessThanOrEqual(fwdErr, forwardTolerance, "\(name): forward relative error \(fwdErr)", file: file, line: line)

        var rng = RandomGenerator(seed: seed &+ 1)
        let r = Tensor(uninitialized: out.shape)
        rng.fillNormal(r)
        let loss = tape.sum(tape.multiply(out, Variable(constant: r)))
        try tape.backward(loss)
        let r64 = r.scalars.map(Double.init)

        func lossAt(_ x: [[Double]]) -> Double { zip(reference(x), r64).reduce(0) { $0 + $1.0 * $1.1 } }
        for i in differentiable ?? Array(inputs.indices) {
            var numeric = [Double](repeating: 0, count: inputs[i].count)
            var x = x64
            for j in 0..<numeric.count {
                let saved = x[i][j]
                x[i][j] = saved + step
                let plus = lossAt(x)
                x[i][j] = saved - step
                let minus = lossAt(x)
                x[i][j] = saved
                numeric[j] = (plus - minus) / (2 * step)
            }
            let analytic = params[i].gradient.scalars.map(Double.init)
            let err = GradientCheck.relativeError(analytic, numeric)
            XCTAssertLessThanOrEqual(err, gradientTolerance, "\(name): gradient of input \(i) relative error \(err)", file: file, line: line)
        }
    }

    static func relativeError(_ a: [Double], _ b: [Double], floor: Double = 1e-3) -> Double {
        precondition(a.count == b.count)
        var diff = 0.0, scale = floor
        for (x, y) in zip(a, b) {
            diff = max(diff, abs(x - y))
            scale = max(scale, abs(y))
        }
        return diff / scale
    }
}

/// Random test data.
struct Random {
    var rng: RandomGenerator
    init(_ seed: UInt64) { rng = RandomGenerator(seed: seed) }
    mutating func tensor(_ shape: [Int], std: Float = 1) -> Tensor {
        let t = Tensor(uninitialized: shape)
        rng.fillNormal(t, std: std)
        return t
    }
    mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + rng.integer(below: range.count) }
}
