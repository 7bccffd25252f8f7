import XCTest
import Foundation
@testable import Autodiff
import Tensors

final class TapeTests: XCTestCase {
    func testCustomOpWithoutRuleIsANamedError() throws {
        let tape = Tape()
        let x = tape.parameter(Parameter(name: "x", value: Tensor([1, 2], shape: [2])))
        let y = tape.custom("square", inputs: [x], output: Tensor([1, 4], shape: [2]))
        XCTAssertThrowsError(try tape.backward(tape.sum(y))) { error in
            XCTAssertEqual(error as? AutodiffError, .missingGradientRule("square"))
        }
    }

    func testCustomOpWithRegisteredRule() throws {
        let tape = Tape()
        let p = Parameter(name: "x", value: Tensor([1, 2, -3], shape: [3]))
        tape.registerGradientRule(for: "square") { inputs, _, g, grads in
            for i in 0..<g.count { grads[0]?[i] += 2 * inputs[0].value.data[i] * g.data[i] }
        }
        let x = tape.parameter(p)
        let y = tape.custom("square", inputs: [x], output: Tensor(x.value.scalars.map { $0 * $0 }, shape: [3]))
        try tape.backward(tape.sum(y))
        XCTAssertEqual(p.gradient.scalars, [2, 4, -6])
    }

    /// With a profile requested, backward times every rule it runs under the op's name (and the
    /// gradients are the same as without).
    func testBackwardProfileNamesEveryRuleRun() throws {
        func run(profiled: Bool) throws -> (Tensor, [String: Double]?) {
            let tape = Tape()
            if profiled { tape.backwardProfile = [:] }
            let p = Parameter(name: "x", value: Tensor([1, -2, 3, 0.5], shape: [2, 2]))
            let x = tape.parameter(p)
            try tape.backward(tape.sum(tape.gelu(tape.multiply(x, x))))
            return (p.gradient, tape.backwardProfile)
        }
        let (plain, none) = try run(profiled: false)
        let (profiled, profile) = try run(profiled: true)
        XCTAssertNil(none)
        XCTAssertEqual(plain.scalars, profiled.scalars)
        XCTAssertEqual(Set(profile?.keys ?? [:].keys), ["sum", "gelu", "multiply"])
        XCTAssertTrue(profile!.values.allSatisfy { $0 >= 0 })
    }

    func testNonScalarLossIsRejected() {
        let tape = Tape()
        let x = tape.parameter(Parameter(name: "x", value: Tensor(zeros: [2])))
        XCTAssertThrowsError(try tape.backward(tape.gelu(x))) { error in
            XCTAssertEqual(error as? AutodiffError, .nonScalarLoss([2]))
        }
    }

    func testSharedParameterAccumulatesEveryUseAndAcrossBackwards() throws {
        let p = Parameter(name: "w", value: Tensor([3], shape: [1, 1]))
        for _ in 0..<2 {
            let tape = Tape()
            let x = Variable(constant: Tensor([2], shape: [1, 1]))
            // y = w·(w·x) → dy/dw = 2·w·x = 12
            let y = tape.linear(tape.linear(x, weight: tape.parameter(p), bias: nil), weight: tape.parameter(p), bias: nil)
            try tape.backward(tape.sum(y))
        }
        XCTAssertEqual(p.gradient.scalars, [24], "two backward passes of 12 each accumulate")
    }

    /// Rules that take over their output gradient in place (add, GELU, dropout) must still sum
    /// every use of a variable, whichever use is differentiated first.
    func testGradientTakenOverInPlaceStillSumsEveryUse() throws {
        let p = Parameter(name: "w", value: Tensor([0.5, -1.5, 2], shape: [3]))
        let tape = Tape()
        let x = tape.scale(tape.parameter(p), by: 2)              // x = 2w
        let y = tape.add(tape.add(tape.gelu(x), x), tape.add(x, x))  // gelu(x) + 3x
        try tape.backward(tape.sum(y))
        for (w, g) in zip(p.value.scalars, p.gradient.scalars) {
            let x = Double(2 * w)
            let gelu = 0.5 * (1 + erf(x / 2.0.squareRoot())) + x * exp(-x * x / 2) / (2 * Double.pi).squareRoot()
            XCTAssertEqual(Double(g), 2 * (gelu + 3), accuracy: 1e-5)
        }
    }

    func testNoGradModeRecordsNothingAndFrozenParametersGetNoGradient() throws {
        let tape = Tape()
        let p = Parameter(name: "w", value: Tensor([1, 2, 3, 4], shape: [2, 2]))
        let out = tape.withoutRecording { tape.gelu(tape.parameter(p)) }
        XCTAssertFalse(out.requiresGradient)
        XCTAssertEqual(tape.count, 0)
        let frozen = Parameter(name: "teacher", value: Tensor([1, 2], shape: [2]), requiresGradient: false)
        let y = tape.sum(tape.gelu(tape.parameter(frozen)))
        XCTAssertFalse(y.requiresGradient)
        try tape.backward(y)
        XCTAssertEqual(frozen.gradient.scalars, [0, 0])
    }

    func testBackwardReleasesSavedActivations() throws {
        let tape = Tape()
        let p = Parameter(name: "x", value: Tensor(repeating: 0.5, shape: [4, 8]))
        weak var saved: TensorStorage?
        do {
            let h = tape.gelu(tape.parameter(p))
            saved = h.value.storage
            try tape.backward(tape.sum(tape.layerNorm(h, weight: Variable(constant: Tensor(repeating: 1, shape: [8])),
                                                       bias: Variable(constant: Tensor(zeros: [8])))))
        }
        XCTAssertNil(saved, "the GELU output is freed once backward is past the layer norm that saved it")
        XCTAssertEqual(tape.count, 0)
    }
}
