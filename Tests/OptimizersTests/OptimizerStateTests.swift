import XCTest
@testable import Optimizers

/// `stateTensors()` / `loadState(_:stepCount:)`: a restored optimizer continues exactly like the
/// original, and incomplete or mis-shaped state is rejected.
final class OptimizerStateTests: XCTestCase {
    private func makeParameters(seed: UInt64) -> [Parameter] {
        var rng = RandomGenerator(seed: seed)
        return [
            Parameter(name: "dense.weight", value: Initializer.normal([5, 3], std: 0.5, rng: &rng)),
            Parameter(name: "dense.bias", value: Initializer.normal([3], std: 0.5, rng: &rng)),
            Parameter(name: "LayerNorm.weight", value: Initializer.normal([3], std: 0.1, rng: &rng)),
        ]
    }

    /// Deterministic gradients for step `step`.
    private func setGradients(_ params: [Parameter], step: Int) {
        var rng = RandomGenerator(seed: 100 + UInt64(step))
        for p in params { p.gradient.assign(Initializer.normal(p.shape, std: 1, rng: &rng)) }
    }

    private func clone(_ params: [Parameter]) -> [Parameter] {
        params.map { Parameter(name: $0.name, value: $0.value.copy()) }
    }

    private func checkRoundTrip(_ label: String, make: ([Parameter]) -> Optimizer) throws {
        let original = makeParameters(seed: 1)
        let optimizer = make(original)
        for s in 0..<3 {
            setGradients(original, step: s)
            optimizer.step(lr: 1e-2)
        }
        // Snapshot: state tensors may alias the live moments, so copy them.
        let saved = optimizer.stateTensors().mapValues { $0.copy() }
        XCTAssertEqual(Set(saved.keys), Set(original.flatMap { [$0.name + ".exp_avg", $0.name + ".exp_avg_sq"] }), "\(label): state keys")
        XCTAssertTrue(saved.values.contains { $0.scalars.contains { $0 != 0 } }, "\(label): state is all zeros after 3 steps")

        let restoredParams = clone(original)
        let restored = make(restoredParams)
        try restored.loadState(saved, stepCount: optimizer.stepCount)
        XCTAssertEqual(restored.stepCount, 3, "\(label): step count")

        for s in 3..<5 {
            setGradients(original, step: s)
            setGradients(restoredParams, step: s)
            optimizer.step(lr: 1e-2)
            restored.step(lr: 1e-2)
            for (a, b) in zip(original, restoredParams) {
                XCTAssertEqual(a.value.scalars, b.value.scalars, "\(label): \(a.name) differs after restored step \(s + 1)")
            }
        }
        let after = optimizer.stateTensors(), afterRestored = restored.stateTensors()
        for (key, t) in after {
            XCTAssertEqual(t.scalars, afterRestored[key]?.scalars, "\(label): state \(key) differs after restored steps")
        }
    }

    func testAdamWStateRoundTripContinuesIdentically() throws {
        try checkRoundTrip("AdamW") { AdamW(parameters: $0, beta1: 0.9, beta2: 0.98, eps: 1e-6, weightDecay: 0.01) }
    }

    func testLAMBStateRoundTripContinuesIdentically() throws {
        try checkRoundTrip("LAMB") { LAMB(parameters: $0, beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0.01) }
    }

    /// `clearsGradients` gives the same update as a separate `zeroGradient()` and leaves zeros.
    func testClearingGradientsInsideTheStepChangesNothingElse() throws {
        for makeOptimizer in [{ AdamW(parameters: $0) as AdamMoments & Optimizer }, { LAMB(parameters: $0) }] as [([Parameter]) -> AdamMoments & Optimizer] {
            let a = makeParameters(seed: 4), b = clone(a)
            let plain = makeOptimizer(a), clearing = makeOptimizer(b)
            clearing.clearsGradients = true
            for s in 0..<3 {
                setGradients(a, step: s)
                setGradients(b, step: s)
                plain.step(lr: 1e-2)
                for p in a { p.zeroGradient() }
                clearing.step(lr: 1e-2)
                for (x, y) in zip(a, b) {
                    XCTAssertEqual(x.value.scalars, y.value.scalars)
                    XCTAssertTrue(y.gradient.scalars.allSatisfy { $0 == 0 })
                }
            }
        }
    }

    func testMissingStateThrows() throws {
        let params = makeParameters(seed: 2)
        let optimizer = AdamW(parameters: params)
        setGradients(params, step: 0)
        optimizer.step(lr: 1e-3)
        var state = optimizer.stateTensors()
        state.removeValue(forKey: "dense.bias.exp_avg_sq")
        let fresh = AdamW(parameters: clone(params))
        XCTAssertThrowsError(try fresh.loadState(state, stepCount: 1)) { error in
            guard case OptimizerError.missingState(let key) = error else {
                return XCTFail("expected OptimizerError.missingState, got \(error)")
            }
            XCTAssertEqual(key, "dense.bias.exp_avg_sq")
        }
    }

    func testMisshapedStateThrows() throws {
        let params = makeParameters(seed: 3)
        let optimizer = LAMB(parameters: params)
        var state = optimizer.stateTensors()
        state["dense.weight.exp_avg"] = Tensor(zeros: [3, 5])
        XCTAssertThrowsError(try LAMB(parameters: clone(params)).loadState(state, stepCount: 0)) { error in
            guard case OptimizerError.shapeMismatch(let key, let expected, let found) = error else {
                return XCTFail("expected OptimizerError.shapeMismatch, got \(error)")
            }
            XCTAssertEqual(key, "dense.weight.exp_avg")
            XCTAssertEqual(expected, [5, 3])
            XCTAssertEqual(found, [3, 5])
        }
    }
}
