import Tensors

/// The gradient rule of every operation, in one table.
///
/// Each rule reads the output gradient `g` and *accumulates* into the gradient buffers of the
/// op's inputs (`buffer(v)` is nil for inputs that need no gradient). Built-in ops are an enum,
/// so a missing rule is a compile error; custom ops look their rule up by name and a missing one
/// is ``AutodiffError/missingGradientRule(_:)``.
extension Tape {
    /// Hands the output gradient `grad` to `v` as its gradient when `v` has none yet, so the rule
    /// can transform it in place instead of zero-filling a new buffer and accumulating into it.
    /// Safe because an op's rule is the last reader of its output gradient (the slot is released
    /// right after), and a slot with a buffer — every parameter's — is never replaced.
    func adoptGradient(_ v: Variable, _ grad: Tensor) -> Bool {
        guard v.slot >= 0, gradients[v.slot] == nil, grad.count == v.value.count else { return false }
        gradients[v.slot] = grad.reshaped(v.shape)
        return true
    }

    func applyGradientRule(_ op: Op, outputGradient grad: Tensor) throws {
        let g = grad.data
        func buffer(_ v: Variable) -> UnsafeMutablePointer<Float>? { gradientBuffer(v) }

        switch op {
        case .parameter:
            break  // leaves: the gradient is already in Parameter.gradient

        case let .linear(x, weight, bias):
            LinearKernel.backward(dinp: buffer(x), dweight: buffer(weight), dbias: bias.flatMap(buffer),
                                  dout: g, inp: x.value.data, weight: weight.value.data,
                                  rows: x.value.rowCount, inFeatures: x.value.lastDimension, outFeatures: weight.shape[0])

        case let .matmul(a, b, ta, tb, batch, m, n, k):
            let da = buffer(a), db = buffer(b)
            let bStride = b.value.rank == 2 ? 0 : k * n
            for i in 0..<batch {
                MatmulKernel.backward(da: da.map { $0 + i * m * k }, db: db.map { $0 + i * bStride },
                                      dc: g + i * m * n, a: a.value.data + i * m * k, b: b.value.data + i * bStride,
                                      m: m, n: n, k: k, transposeA: ta, transposeB: tb)
            }

        case let .add(a, b):
            if !adoptGradient(a, grad), let da = buffer(a) { Elementwise.accumulate(da, g, count: grad.count) }
            if let db = buffer(b) { Elementwise.accumulate(db, g, count: grad.count) }

        case let .addBias(x, bias):
            Elementwise.biasAddBackward(dinp: buffer(x), dbias: buffer(bias), dout: g,
                                        rows: x.value.rowCount, columns: x.value.lastDimension)

        case let .multiply(a, b):
            Elementwise.mulBackward(da: buffer(a), db: buffer(b), dout: g, a: a.value.data, b: b.value.data, count: grad.count)

        case let .scale(x, alpha):
            if let dx = buffer(x) { Elementwise.accumulate(dx, g, count: grad.count, alpha: alpha) }

        case let .gelu(x):
            if adoptGradient(x, grad) {
                Elementwise.geluBackward(dinp: g, inp: x.value.data, dout: g, count: grad.count, accumulate: false)
            } else if let dx = buffer(x) {
                Elementwise.geluBackward(dinp: dx, inp: x.value.data, dout: g, count: grad.count)
            }

        case let .geluTanh(x):
            if adoptGradient(x, grad) {
                Elementwise.geluTanhBackward(dinp: g, inp: x.value.data, dout: g, count: grad.count, accumulate: false)
            } else if let dx = buffer(x) {
                Elementwise.geluTanhBackward(dinp: dx, inp: x.value.data, dout: g, count: grad.count)
            }

        case let .tanh(x, output):
            if let dx = buffer(x) { Elementwise.tanhBackward(dinp: dx, out: output.data, dout: g, count: grad.count) }

        case let .softmax(x, output):
            if let dx = buffer(x) {
                SoftmaxKernel.backward(dinp: dx, out: output.data, dout: g, rows: x.value.rowCount, columns: x.value.lastDimension)
            }

        case let .layerNorm(x, weight, bias, mean, rstd):
            LayerNormKernel.backward(dinp: buffer(x), dweight: buffer(weight), dbias: buffer(bias), dout: g,
                                     inp: x.value.data, weight: weight.value.data, mean: mean.data, rstd: rstd.data,
                                     rows: x.value.rowCount, columns: x.value.lastDimension)

        case let .dropout(x, p, key):
            if adoptGradient(x, grad) {
                Elementwise.dropoutBackward(dinp: g, dout: g, count: grad.count, probability: p, key: key, accumulate: false)
            } else if let dx = buffer(x) {
                Elementwise.dropoutBackward(dinp: dx, dout: g, count: grad.count, probability: p, key: key)
            }

        case let .gather(table, indices):
            if let dt = buffer(table) {
                indices.withUnsafeBufferPointer {
                    GatherKernel.backward(dtable: dt, dout: g, indices: $0.baseAddress!, count: indices.count, columns: table.value.lastDimension)
                }
            }

        case let .linearConcatenated(x, weights, biases, packed):
            let (n, cin, total) = (x.value.rowCount, x.value.lastDimension, packed.shape[0])
            if let dx = buffer(x) {
                MatmulKernel.forward(dx, g, packed.data, m: n, n: cin, k: total, accumulate: true)
            }
            // Packed weight and bias gradients, then each block into its own parameter.
            let dPacked = Tensor(zeros: [total, cin]), dBias = Tensor(zeros: [total])
            MatmulKernel.forward(dPacked.data, g, x.value.data, m: total, n: cin, k: n, transposeA: true)
            Reduce.sumRows(g, rows: n, columns: total, into: dBias.data)
            var row = 0
            for (w, b) in zip(weights, biases) {
                if let dw = buffer(w) { Elementwise.accumulate(dw, dPacked.data + row * cin, count: w.value.count) }
                if let db = buffer(b) { Elementwise.addInPlace(db, dBias.data + row, count: b.value.count) }
                row += w.shape[0]
            }

        case let .attention(q, k, v, shape, probabilities, p, key, layout):
            let offsets = layout.offsets(channels: shape.channels)
            AttentionKernel.backward(dq: buffer(q).map { $0 + offsets.0 }, dk: buffer(k).map { $0 + offsets.1 },
                                     dv: buffer(v).map { $0 + offsets.2 }, dout: g, probabilities: probabilities.data,
                                     q: q.value.data + offsets.0, k: k.value.data + offsets.1, v: v.value.data + offsets.2,
                                     shape: shape, dropout: p, key: key)

        case let .crossEntropy(logits, gradient):
            // The forward pass already computed ∂loss/∂logits; adopt it as the gradient buffer
            // when nothing else has written one, instead of allocating and adding.
            if logits.slot >= 0 && gradients[logits.slot] == nil && g[0] == 1 {
                gradients[logits.slot] = gradient.reshaped(logits.shape)
            } else if let dl = buffer(logits) {
                Elementwise.accumulate(dl, gradient.data, count: gradient.count, alpha: g[0])
            }

        case let .linearCrossEntropy(x, weight, bias, gradient, biasGradient):
            let (m, c, v) = (x.value.rowCount, x.value.lastDimension, weight.shape[0])
            MatmulKernel.backward(da: buffer(x), db: buffer(weight), dc: gradient.data, a: x.value.data, b: weight.value.data,
                                  m: m, n: v, k: c, transposeB: true, alpha: g[0])
            if let bias, let biasGradient, let db = buffer(bias) {
                Elementwise.accumulate(db, biasGradient.data, count: v, alpha: g[0])
            }

        case let .bceWithLogits(logits, targets, weights, normalizer):
            if let dl = buffer(logits) {
                LossKernels.bceWithLogitsBackward(dlogits: dl, logits: logits.value.data, targets: targets.data, weights: weights?.data,
                                                  count: logits.value.count, scale: g[0] / normalizer)
            }

        case let .klDivergence(student, teacher, tau, sl, tl, normalizer):
            LossKernels.klDivergenceBackward(dstudent: buffer(student), dteacher: buffer(teacher), student: student.value.data,
                                             teacher: teacher.value.data, temperature: tau, studentLSE: sl.data, teacherLSE: tl.data,
                                             rows: student.value.rowCount, classes: student.value.lastDimension,
                                             scale: g[0] * tau * tau / normalizer)

        case let .cosineSimilarity(a, b, eps):
            LossKernels.cosineSimilarityBackward(da: buffer(a), db: buffer(b), dout: g, a: a.value.data, b: b.value.data,
                                                 rows: a.value.rowCount, columns: a.value.lastDimension, eps: eps)

        case let .meanPool(x, mask):
            if let dx = buffer(x) {
                LossKernels.meanPoolBackward(dx: dx, dout: g, mask: mask.data, batch: x.shape[0], steps: x.shape[1], columns: x.shape[2])
            }

        case let .concatenate(parts):
            let rows = grad.rowCount, width = grad.lastDimension
            var column = 0
            for part in parts {
                let c = part.value.lastDimension, col = column
                if let dp = buffer(part) {
                    parallelFor(rows, grain: 256) { range in
                        for r in range { Elementwise.addInPlace(dp + r * c, g + r * width + col, count: c) }
                    }
                }
                column += c
            }

        case let .sum(x):
            if let dx = buffer(x) {
                let s = g[0]
                parallelFor(x.value.count, grain: 1 << 14) { range in for i in range { dx[i] += s } }
            }

        case let .custom(name, inputs, saved):
            let rule = try customRule(name)
            rule(inputs, saved, grad, inputs.map { buffer($0) })
        }
    }
}
