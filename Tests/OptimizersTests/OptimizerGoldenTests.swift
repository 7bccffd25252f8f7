import Foundation
import XCTest
@testable import Optimizers

/// Golden values for AdamW, LAMB, global-norm clipping and the learning-rate schedules, from
/// `scripts/fixtures/make_engine_fixtures.py` (torch.optim.AdamW, a float64 reference LAMB,
/// torch.nn.utils.clip_grad_norm_, and transformers' `get_*_schedule_with_warmup`).
///
/// Tolerances (float32 engine vs float64 reference):
/// - optimizer parameters: |swift − ref| ≤ 1e-6 · max(1, |ref|) element-wise;
/// - clipping: gradients and returned norm, |swift − ref| ≤ 1e-6 · max(1, |ref|);
/// - schedules: |swift − ref| ≤ 1e-6 · peak (the rates are at most `peak`).
final class OptimizerGoldenTests: XCTestCase {
    private static let parameterTolerance = 1e-6
    private static let scheduleTolerance = 1e-6

    private enum FixtureError: Error { case missing(String), malformed(String) }

    private func loadFixture() throws -> [String: Any] {
        guard let url = Bundle.module.url(forResource: "optimizers", withExtension: "json", subdirectory: "Fixtures") else {
            throw FixtureError.missing("Fixtures/optimizers.json")
        }
        guard let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
            throw FixtureError.malformed("root")
        }
        return root
    }

    /// Flattens nested JSON number arrays (row-major).
    private func flatten(_ node: Any?, _ what: String) throws -> [Double] {
        if let n = node as? NSNumber { return [n.doubleValue] }
        guard let array = node as? [Any] else { throw FixtureError.malformed(what) }
        return try array.flatMap { try flatten($0, what) }
    }

    private func number(_ dict: [String: Any], _ key: String) throws -> Double {
        guard let n = dict[key] as? NSNumber else { throw FixtureError.malformed(key) }
        return n.doubleValue
    }

    private func tensor(_ node: Any?, shape: [Int], _ what: String) throws -> Tensor {
        let values = try flatten(node, what)
        guard values.count == Tensor.elementCount(shape) else { throw FixtureError.malformed("\(what): \(values.count) values for \(shape)") }
        return Tensor(values.map { Float($0) }, shape: shape)
    }

    /// Max of |a − r| / max(1, |r|) over the elements; fails with `what` when above `tolerance`.
    @discardableResult
    private func compare(_ actual: Tensor, _ reference: [Double], tolerance: Double, _ what: String,
                         file: StaticString = #filePath, line: UInt = #line) -> Double {
        let a = actual.scalars
        XCTAssertEqual(a.count, reference.count, "\(what): element count", file: file, line: line)
        var worst = 0.0, worstAbs = 0.0
        for (x, r) in zip(a, reference) {
            let d = abs(Double(x) - r)
            worst = max(worst, d / max(1, abs(r)))
            worstAbs = max(worstAbs, d)
        }
        XCTAssertLessThanOrEqual(worst, tolerance, "\(what): max abs error \(worstAbs) (scaled \(worst)) exceeds \(tolerance)",
                                 file: file, line: line)
        return worst
    }

    private struct OptimizerCase {
        let order: [String]
        let shapes: [String: [Int]]
        let hyper: [String: Any]
        let initial: [String: Any]
        let gradients: [[String: Any]]
        let afterStep: [[String: Any]]
    }

    private func optimizerCase(_ root: [String: Any], _ key: String) throws -> OptimizerCase {
        guard let c = root[key] as? [String: Any], let order = c["order"] as? [String],
              let shapes = c["shapes"] as? [String: [Int]], let initial = c["initial"] as? [String: Any],
              let gradients = c["gradients"] as? [[String: Any]], let after = c["after_step"] as? [[String: Any]] else {
            throw FixtureError.malformed(key)
        }
        return OptimizerCase(order: order, shapes: shapes, hyper: c, initial: initial, gradients: gradients, afterStep: after)
    }

    /// Runs `optimizer` over the case's gradients, comparing every parameter after every step.
    private func run(_ c: OptimizerCase, label: String, make: ([Parameter], [String: Any]) throws -> Optimizer) throws -> Double {
        let params = try c.order.map { name in
            Parameter(name: name, value: try tensor(c.initial[name], shape: c.shapes[name]!, "\(label) initial \(name)"))
        }
        let optimizer = try make(params, c.hyper)
        let lr = Float(try number(c.hyper, "lr"))
        var worst = 0.0
        for (s, grads) in c.gradients.enumerated() {
            for p in params {
                p.gradient.assign(try tensor(grads[p.name], shape: p.shape, "\(label) gradient \(p.name) step \(s + 1)"))
            }
            optimizer.step(lr: lr)
            XCTAssertEqual(optimizer.stepCount, s + 1)
            for p in params {
                let ref = try flatten(c.afterStep[s][p.name], "\(label) after step \(s + 1) \(p.name)")
                worst = max(worst, compare(p.value, ref, tolerance: Self.parameterTolerance, "\(label): \(p.name) after step \(s + 1)"))
            }
        }
        return worst
    }

    func testAdamWMatchesTorch() throws {
        let c = try optimizerCase(try loadFixture(), "adamw")
        let worst = try run(c, label: "AdamW") { params, h in
            AdamW(parameters: params, beta1: Float(try number(h, "beta1")), beta2: Float(try number(h, "beta2")),
                  eps: Float(try number(h, "eps")), weightDecay: Float(try number(h, "weight_decay")))
        }
        print("OptimizerGolden AdamW: worst scaled error \(worst)")
    }

    /// Runs `make`'s optimizer three steps (lr 0.01) on a 13×3077 matrix — 40,001 elements, so the
    /// eight-lane loop, the scalar tail and several threads' chunks all run — and checks the weights
    /// after each step, bit for bit, against `reference` (the per-element update in PyTorch's order).
    private func checkAgainstScalarUpdate(
        seed: UInt64, _ make: ([Parameter]) -> Optimizer,
        reference: (_ step: Int, _ g: [Float], _ w: inout [Float], _ m: inout [Float], _ v: inout [Float]) -> Void
    ) {
        var rng = RandomGenerator(seed: seed)
        let shape = [13, 3077], n = 13 * 3077  // a matrix: weight decay applies
        let p = Parameter(name: "dense.weight", value: Initializer.normal(shape, std: 0.5, rng: &rng))
        var (w, m, v) = (p.value.scalars, [Float](repeating: 0, count: n), [Float](repeating: 0, count: n))
        let optimizer = make([p])
        for step in 1...3 {
            let g = Initializer.normal(shape, std: 1, rng: &rng)
            p.gradient.assign(g)
            optimizer.step(lr: 0.01)
            reference(step, g.scalars, &w, &m, &v)
            XCTAssertEqual(p.value.scalars, w, "step \(step)")
        }
    }

    func testAdamWVectorLoopIsTheScalarUpdate() {
        let (lr, b1, b2, eps, decay): (Float, Float, Float, Float, Float) = (0.01, 0.9, 0.99, 1e-6, 0.1)
        checkAgainstScalarUpdate(seed: 9, { AdamW(parameters: $0, beta1: b1, beta2: b2, eps: eps, weightDecay: decay) }) { step, g, w, m, v in
            let bc1 = 1 - pow(b1, Float(step)), bc2Sqrt = (1 - pow(b2, Float(step))).squareRoot()
            for j in w.indices {
                w[j] *= 1 - lr * decay
                m[j] = b1 * m[j] + (1 - b1) * g[j]
                v[j] = b2 * v[j] + (1 - b2) * g[j] * g[j]
                w[j] -= lr / bc1 * m[j] / (v[j].squareRoot() / bc2Sqrt + eps)
            }
        }
    }

    /// LAMB's trust ratio from the same norms (`Reduce.sumOfSquares`) as the optimizer takes.
    func testLAMBVectorLoopIsTheScalarUpdate() {
        let (lr, b1, b2, eps, decay): (Float, Float, Float, Float, Float) = (0.01, 0.9, 0.99, 1e-6, 0.1)
        checkAgainstScalarUpdate(seed: 10, { LAMB(parameters: $0, beta1: b1, beta2: b2, eps: eps, weightDecay: decay) }) { step, g, w, m, v in
            let bc1 = 1 - pow(b1, Float(step)), bc2 = 1 - pow(b2, Float(step))
            var r = [Float](repeating: 0, count: w.count)
            for j in w.indices {
                m[j] = b1 * m[j] + (1 - b1) * g[j]
                v[j] = b2 * v[j] + (1 - b2) * g[j] * g[j]
                r[j] = (m[j] / bc1) / ((v[j] / bc2).squareRoot() + eps) + decay * w[j]
            }
            let wNorm = Reduce.sumOfSquares(Tensor(w, shape: [w.count]).data, count: w.count).squareRoot()
            let rNorm = Reduce.sumOfSquares(Tensor(r, shape: [r.count]).data, count: r.count).squareRoot()
            let scale = lr * Float(wNorm / rNorm)
            for j in w.indices { w[j] -= scale * r[j] }
        }
    }

    func testLAMBMatchesReference() throws {
        let c = try optimizerCase(try loadFixture(), "lamb")
        XCTAssertTrue(try flatten(c.initial["zero.weight"], "zero.weight").allSatisfy { $0 == 0 },
                      "the fixture must keep a 2-D weight that starts at zero (trust ratio fallback)")
        let worst = try run(c, label: "LAMB") { params, h in
            LAMB(parameters: params, beta1: Float(try number(h, "beta1")), beta2: Float(try number(h, "beta2")),
                 eps: Float(try number(h, "eps")), weightDecay: Float(try number(h, "weight_decay")))
        }
        print("OptimizerGolden LAMB: worst scaled error \(worst)")
    }

    func testClipGradientNormMatchesTorch() throws {
        guard let cases = try loadFixture()["clip"] as? [[String: Any]], cases.count == 2 else { throw FixtureError.malformed("clip") }
        var worst = 0.0
        for c in cases {
            guard let label = c["label"] as? String, let shapes = c["shapes"] as? [String: [Int]],
                  let grads = c["gradients"] as? [String: Any], let clipped = c["clipped"] as? [String: Any] else {
                throw FixtureError.malformed("clip case")
            }
            let names = shapes.keys.sorted()
            let params = try names.map { name in
                let p = Parameter(name: name, value: Tensor(zeros: shapes[name]!))
                p.gradient.assign(try tensor(grads[name], shape: shapes[name]!, "clip \(label) \(name)"))
                return p
            }
            let refNorm = try number(c, "total_norm")
            let norm = clipGradientNorm(params, maxNorm: Float(try number(c, "max_norm")))
            let normErr = abs(Double(norm) - refNorm) / max(1, refNorm)
            XCTAssertLessThanOrEqual(normErr, Self.parameterTolerance, "clip \(label): returned norm \(norm) vs \(refNorm)")
            worst = max(worst, normErr)
            for p in params {
                let ref = try flatten(clipped[p.name], "clip \(label) \(p.name)")
                worst = max(worst, compare(p.gradient, ref, tolerance: Self.parameterTolerance, "clip \(label): gradient \(p.name)"))
            }
            if label == "below" {
                // Untouched, bit for bit.
                for p in params {
                    XCTAssertEqual(p.gradient.scalars, try flatten(grads[p.name], "").map { Float($0) }, "clip below: \(p.name) changed")
                }
            }
        }
        print("OptimizerGolden clip: worst scaled error \(worst)")
    }

    func testSchedulesMatchTransformers() throws {
        guard let schedules = try loadFixture()["schedules"] as? [[String: Any]], schedules.count == 4 else {
            throw FixtureError.malformed("schedules")
        }
        for s in schedules {
            guard let name = s["decay"] as? String, let decay = LearningRateSchedule.Decay(rawValue: name),
                  let rates = s["rates"] as? [NSNumber] else { throw FixtureError.malformed("schedule") }
            let peak = try number(s, "peak"), power = try number(s, "power")
            let schedule = LearningRateSchedule(
                peak: Float(peak), warmupSteps: Int(try number(s, "warmup")), totalSteps: Int(try number(s, "total")),
                decay: decay, power: Float(power), endLR: Float(try number(s, "end_lr")))
            XCTAssertEqual(rates.count, schedule.totalSteps + 1)
            var worst = 0.0, worstStep = 0
            for (step, ref) in rates.enumerated() {
                let err = abs(Double(schedule.rate(at: step)) - ref.doubleValue) / peak
                if err > worst { (worst, worstStep) = (err, step) }
            }
            XCTAssertLessThanOrEqual(worst, Self.scheduleTolerance,
                                     "schedule \(name) power \(power): step \(worstStep) rate \(schedule.rate(at: worstStep)) vs \(rates[worstStep]) (error/peak \(worst))")
            print("OptimizerGolden schedule \(name) power \(power): worst error/peak \(worst)")
        }
    }
}
