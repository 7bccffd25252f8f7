import Tensors

/// The differentiable operations. Each computes its output with a kernel from `Tensors` and
/// records what its gradient rule (`GradientRules.swift`) needs.
extension Tape {
    // MARK: linear algebra

    /// x (…,Cin) · weightᵀ + bias, with weight (Cout,Cin) and bias (Cout) as in PyTorch.
    public func linear(_ x: Variable, weight: Variable, bias: Variable?) -> Variable {
        let cin = x.value.lastDimension, cout = weight.shape[0]
        precondition(weight.shape == [cout, cin], "linear: weight \(weight.shape) does not take inputs of width \(cin)")
        precondition(bias == nil || bias!.shape == [cout], "linear: bias \(bias!.shape) for \(cout) outputs")
        var shape = x.shape
        shape[shape.count - 1] = cout
        let out = Tensor(uninitialized: shape)
        LinearKernel.forward(out.data, x.value.data, weight: weight.value.data, bias: bias?.value.data,
                             rows: x.value.rowCount, inFeatures: cin, outFeatures: cout)
        return record(.linear(x: x, weight: weight, bias: bias), out, bias.map { [x, weight, $0] } ?? [x, weight])
    }

    /// x (…,Cin) projected by several (Coutᵢ,Cin) weights at once → (…, ΣCoutᵢ), the outputs
    /// side by side: one matrix product instead of several (Q, K and V of attention).
    public func linear(_ x: Variable, weights: [Variable], biases: [Variable]) -> Variable {
        let cin = x.value.lastDimension
        precondition(!weights.isEmpty && weights.count == biases.count, "linear: one bias per weight")
        // One weight (GPT-2's fused c_attn) is already packed: copying it would be a second pass
        // over the weights (13 % of a 124M decoding step, measured with perf).
        if weights.count == 1 { return linear(x, weight: weights[0], bias: biases[0]) }
        precondition(weights.allSatisfy { $0.value.rank == 2 && $0.shape[1] == cin }, "linear: weights \(weights.map(\.shape)) for inputs of width \(cin)")
        let total = weights.reduce(0) { $0 + $1.shape[0] }
        let packed = Tensor(uninitialized: [total, cin]), bias = Tensor(uninitialized: [total])
        var row = 0
        for (w, b) in zip(weights, biases) {
            precondition(b.shape == [w.shape[0]], "linear: bias \(b.shape) for weight \(w.shape)")
            (packed.data + row * cin).update(from: w.value.data, count: w.value.count)
            (bias.data + row).update(from: b.value.data, count: b.value.count)
            row += w.shape[0]
        }
        var shape = x.shape
        shape[shape.count - 1] = total
        let out = Tensor(uninitialized: shape)
        LinearKernel.forward(out.data, x.value.data, weight: packed.data, bias: bias.data,
                             rows: x.value.rowCount, inFeatures: cin, outFeatures: total)
        return record(.linearConcatenated(x: x, weights: weights, biases: biases, packedWeight: packed), out, [x] + weights + biases)
    }

    /// op(a) · op(b) over the last two axes; leading axes of `a` are a batch, and `b` is either
    /// batched the same way or a single (rank-2) matrix shared by every batch entry.
    public func matmul(_ a: Variable, _ b: Variable, transposeA: Bool = false, transposeB: Bool = false) -> Variable {
        precondition(a.value.rank >= 2 && b.value.rank >= 2, "matmul needs matrices, got \(a.shape) and \(b.shape)")
        let (ar, br) = (a.value.rank, b.value.rank)
        let m = transposeA ? a.shape[ar - 1] : a.shape[ar - 2]
        let k = transposeA ? a.shape[ar - 2] : a.shape[ar - 1]
        let kb = transposeB ? b.shape[br - 1] : b.shape[br - 2]
        let n = transposeB ? b.shape[br - 2] : b.shape[br - 1]
        precondition(k == kb, "matmul: inner sizes differ (\(a.shape) × \(b.shape))")
        let batch = a.value.count / (m * k == 0 ? 1 : m * k)
        precondition(br == 2 || Array(b.shape.dropLast(2)) == Array(a.shape.dropLast(2)),
                     "matmul: batch shapes differ (\(a.shape) × \(b.shape))")
        let out = Tensor(uninitialized: Array(a.shape.dropLast(2)) + [m, n])
        let bStride = br == 2 ? 0 : k * n
        for i in 0..<batch {
            MatmulKernel.forward(out.data + i * m * n, a.value.data + i * m * k, b.value.data + i * bStride,
                                 m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
        }
        return record(.matmul(a: a, b: b, transposeA: transposeA, transposeB: transposeB, batch: batch, m: m, n: n, k: k), out, [a, b])
    }

    // MARK: element-wise

    /// a + b (same shape).
    public func add(_ a: Variable, _ b: Variable) -> Variable {
        precondition(a.value.count == b.value.count, "add: shapes \(a.shape) and \(b.shape) differ")
        let out = Tensor(uninitialized: a.shape)
        Elementwise.addForward(out.data, a.value.data, b.value.data, count: out.count)
        return record(.add(a, b), out, [a, b])
    }

    /// x (…,C) + bias (C), broadcast over rows.
    public func addBias(_ x: Variable, _ bias: Variable) -> Variable {
        precondition(bias.shape == [x.value.lastDimension], "addBias: bias \(bias.shape) for rows of \(x.value.lastDimension)")
        let out = Tensor(uninitialized: x.shape)
        Elementwise.biasAddForward(out.data, x.value.data, bias: bias.value.data, rows: x.value.rowCount, columns: x.value.lastDimension)
        return record(.addBias(x: x, bias: bias), out, [x, bias])
    }

    /// a ⊙ b (same shape).
    public func multiply(_ a: Variable, _ b: Variable) -> Variable {
        precondition(a.value.count == b.value.count, "multiply: shapes \(a.shape) and \(b.shape) differ")
        let out = Tensor(uninitialized: a.shape)
        Elementwise.mulForward(out.data, a.value.data, b.value.data, count: out.count)
        return record(.multiply(a, b), out, [a, b])
    }

    /// alpha · x.
    public func scale(_ x: Variable, by alpha: Float) -> Variable {
        let out = Tensor(uninitialized: x.shape)
        Elementwise.scaleForward(out.data, x.value.data, alpha: alpha, count: out.count)
        return record(.scale(x, alpha: alpha), out, [x])
    }

    /// GELU, exact erf form (BERT).
    public func gelu(_ x: Variable) -> Variable {
        let out = Tensor(uninitialized: x.shape)
        Elementwise.geluForward(out.data, x.value.data, count: out.count)
        return record(.gelu(x), out, [x])
    }

    /// GELU, tanh approximation (Hugging Face `gelu_new`, ALBERT's default).
    public func geluTanh(_ x: Variable) -> Variable {
        let out = Tensor(uninitialized: x.shape)
        Elementwise.geluTanhForward(out.data, x.value.data, count: out.count)
        return record(.geluTanh(x), out, [x])
    }

    /// tanh (BERT's pooler).
    public func tanh(_ x: Variable) -> Variable {
        let out = Tensor(uninitialized: x.shape)
        Elementwise.tanhForward(out.data, x.value.data, count: out.count)
        return record(.tanh(x, output: out), out, [x])
    }

    /// Softmax over the last axis.
    public func softmax(_ x: Variable) -> Variable {
        let out = Tensor(uninitialized: x.shape)
        SoftmaxKernel.forward(out.data, x.value.data, rows: x.value.rowCount, columns: x.value.lastDimension)
        return record(.softmax(x, output: out), out, [x])
    }

    /// Layer normalisation over the last axis.
    public func layerNorm(_ x: Variable, weight: Variable, bias: Variable, eps: Float = 1e-12) -> Variable {
        let c = x.value.lastDimension, n = x.value.rowCount
        precondition(weight.shape == [c] && bias.shape == [c], "layerNorm: weight \(weight.shape), bias \(bias.shape) for width \(c)")
        let out = Tensor(uninitialized: x.shape)
        let mean = Tensor(uninitialized: [n]), rstd = Tensor(uninitialized: [n])
        LayerNormKernel.forward(out.data, mean: mean.data, rstd: rstd.data, x.value.data,
                                weight: weight.value.data, bias: bias.value.data, rows: n, columns: c, eps: eps)
        return record(.layerNorm(x: x, weight: weight, bias: bias, mean: mean, rstd: rstd), out, [x, weight, bias])
    }

    /// Inverted dropout with probability `p` (identity when p = 0); masks come from ``random``.
    public func dropout(_ x: Variable, probability p: Float) -> Variable {
        if p == 0 { return x }
        let key = random.next()
        let out = Tensor(uninitialized: x.shape)
        Elementwise.dropoutForward(out.data, x.value.data, count: out.count, probability: p, key: key)
        return record(.dropout(x, probability: p, key: key), out, [x])
    }

    /// The same values seen with another shape (same element count); gradients flow through.
    public func reshape(_ x: Variable, _ shape: [Int]) -> Variable {
        Variable(x.value.reshaped(shape), slot: x.slot)
    }

    // MARK: gathering

    /// Rows of `table` (V,C) at `indices` → (N,C): an embedding lookup, or picking the masked
    /// positions the MLM head scores. Throws when an index is outside the table.
    public func gather(_ table: Variable, indices: [Int32]) throws -> Variable {
        let c = table.value.lastDimension
        try indices.withUnsafeBufferPointer { try GatherKernel.validate($0, rows: table.value.rowCount) }
        let out = Tensor(uninitialized: [indices.count, c])
        indices.withUnsafeBufferPointer {
            GatherKernel.forward(out.data, table: table.value.data, indices: $0.baseAddress!, count: indices.count, columns: c)
        }
        return record(.gather(table: table, indices: indices), out, [table])
    }

    /// Concatenation along the last axis (all leading dimensions equal).
    public func concatenate(_ parts: [Variable]) -> Variable {
        precondition(!parts.isEmpty, "concatenate needs at least one part")
        let rows = parts[0].value.rowCount
        precondition(parts.allSatisfy { $0.value.rowCount == rows && Array($0.shape.dropLast()) == Array(parts[0].shape.dropLast()) },
                     "concatenate: leading shapes differ: \(parts.map(\.shape))")
        let width = parts.reduce(0) { $0 + $1.value.lastDimension }
        let out = Tensor(uninitialized: Array(parts[0].shape.dropLast()) + [width])
        var column = 0
        for part in parts {
            let c = part.value.lastDimension, src = part.value.data, dst = out.data, col = column
            parallelFor(rows, grain: 256) { range in
                for r in range { (dst + r * width + col).update(from: src + r * c, count: c) }
            }
            column += c
        }
        return record(.concatenate(parts), out, parts)
    }

    // MARK: attention

    /// Fused multi-head scaled-dot-product attention. q (B,T,C), k and v (B,S,C);
    /// `keyMask` (B,S) with 1 = attend; `causal` hides later keys; `additiveMask` (T,S) or
    /// (B,T,S) is added to the scores (−∞ hides); `dropout` drops attention probabilities.
    public func attention(
        query q: Variable, key k: Variable, value v: Variable, heads: Int,
        keyMask: Tensor? = nil, causal: Bool = false, additiveMask: Tensor? = nil, dropout p: Float = 0
    ) -> Variable {
        precondition(q.value.rank == 3 && k.value.rank == 3 && v.shape == k.shape, "attention: q \(q.shape), k \(k.shape), v \(v.shape)")
        let (b, t, c) = (q.shape[0], q.shape[1], q.shape[2])
        let s = k.shape[1]
        precondition(k.shape[0] == b && k.shape[2] == c && c % heads == 0, "attention: \(c) channels, \(heads) heads, k \(k.shape)")
        precondition(keyMask == nil || keyMask!.count == b * s, "attention: key mask must be (B,S) = (\(b),\(s))")
        precondition(additiveMask == nil || additiveMask!.count == b * t * s || additiveMask!.count == t * s,
                     "attention: additive mask must be (T,S) or (B,T,S)")
        let shape = AttentionShape(batch: b, queries: t, keys: s, heads: heads, headDim: c / heads)
        return attention(q, k, v, shape: shape, layout: .separate, keyMask: keyMask, causal: causal, additiveMask: additiveMask, dropout: p)
    }

    /// Self-attention on a packed projection qkv (B,T,3C) whose column blocks are Q, K and V
    /// (see ``linear(_:weights:biases:)``); masks and dropout as in ``attention(query:key:value:heads:keyMask:causal:additiveMask:dropout:)``.
    public func attention(packed qkv: Variable, heads: Int, keyMask: Tensor? = nil, causal: Bool = false,
                          additiveMask: Tensor? = nil, dropout p: Float = 0) -> Variable {
        precondition(qkv.value.rank == 3 && qkv.shape[2] % 3 == 0 && (qkv.shape[2] / 3) % heads == 0,
                     "attention: packed qkv \(qkv.shape) for \(heads) heads")
        let (b, t, c) = (qkv.shape[0], qkv.shape[1], qkv.shape[2] / 3)
        precondition(keyMask == nil || keyMask!.count == b * t, "attention: key mask must be (B,T) = (\(b),\(t))")
        precondition(additiveMask == nil || additiveMask!.count == b * t * t || additiveMask!.count == t * t,
                     "attention: additive mask must be (T,T) or (B,T,T)")
        let shape = AttentionShape(batch: b, queries: t, keys: t, heads: heads, headDim: c / heads, inputStride: 3 * c)
        return attention(qkv, qkv, qkv, shape: shape, layout: .packed, keyMask: keyMask, causal: causal, additiveMask: additiveMask, dropout: p)
    }

    /// Attention of queries q (B,T,C) over keys and values packed in kv (B,S,2C) (column blocks K
    /// and V): the last layer of an encoder computing only the rows a head reads. Masks as in
    /// ``attention(query:key:value:heads:keyMask:causal:additiveMask:dropout:)``, without `causal`.
    public func attention(query q: Variable, packedKeyValue kv: Variable, heads: Int, keyMask: Tensor? = nil,
                          additiveMask: Tensor? = nil, dropout p: Float = 0) -> Variable {
        precondition(q.value.rank == 3 && kv.value.rank == 3 && kv.shape[0] == q.shape[0] && kv.shape[2] == 2 * q.shape[2]
                     && q.shape[2] % heads == 0, "attention: q \(q.shape), packed kv \(kv.shape) for \(heads) heads")
        let (b, t, c, s) = (q.shape[0], q.shape[1], q.shape[2], kv.shape[1])
        precondition(keyMask == nil || keyMask!.count == b * s, "attention: key mask must be (B,S) = (\(b),\(s))")
        precondition(additiveMask == nil || additiveMask!.count == b * t * s || additiveMask!.count == t * s,
                     "attention: additive mask must be (T,S) or (B,T,S)")
        let shape = AttentionShape(batch: b, queries: t, keys: s, heads: heads, headDim: c / heads, keyStride: 2 * c)
        return attention(q, kv, kv, shape: shape, layout: .packedKeyValue, keyMask: keyMask, causal: false, additiveMask: additiveMask, dropout: p)
    }

    func attention(_ q: Variable, _ k: Variable, _ v: Variable, shape: AttentionShape, layout: AttentionLayout,
                   keyMask: Tensor?, causal: Bool, additiveMask: Tensor?, dropout p: Float) -> Variable {
        let (b, t, s, c) = (shape.batch, shape.queries, shape.keys, shape.channels)
        let out = Tensor(uninitialized: [b, t, c])
        let probabilities = Tensor(uninitialized: [b, shape.heads, t, s])
        let key = p > 0 ? random.next() : 0
        let masks = AttentionMasks(keyMask: keyMask.map { UnsafePointer($0.data) }, causal: causal,
                                   additive: additiveMask.map { UnsafePointer($0.data) },
                                   additivePerBatch: additiveMask.map { $0.count == b * t * s } ?? false)
        let offsets = layout.offsets(channels: c)
        AttentionKernel.forward(out.data, probabilities: probabilities.data, q: q.value.data + offsets.0, k: k.value.data + offsets.1,
                                v: v.value.data + offsets.2, shape: shape, masks: masks, dropout: p, key: key)
        let inputs: [Variable]
        switch layout {
        case .separate: inputs = [q, k, v]
        case .packed: inputs = [q]
        case .packedKeyValue: inputs = [q, k]
        }
        return record(.attention(q: q, k: k, v: v, shape: shape, probabilities: probabilities, dropout: p, key: key, layout: layout),
                      out, inputs)
    }

    // MARK: losses (scalars)

    /// Σ cross-entropy(logits (M,V), targets (M)) / normalizer. Targets equal to
    /// ``LossKernels/ignoreIndex`` are skipped; the normaliser defaults to the number of the others
    /// (pass the count over a whole accumulated batch to normalise across micro-batches).
    public func crossEntropy(_ logits: Variable, targets: [Int32], normalizer: Float? = nil) -> Variable {
        let (m, v) = (logits.value.rowCount, logits.value.lastDimension)
        precondition(targets.count == m, "crossEntropy: \(targets.count) targets for \(m) rows")
        precondition(targets.allSatisfy { $0 == LossKernels.ignoreIndex || (0..<Int32(v)).contains($0) },
                     "crossEntropy: a target is outside 0..<\(v)")
        let norm = normalizer ?? Float(max(1, targets.withUnsafeBufferPointer { LossKernels.countTargets($0) }))
        let lse = Tensor(uninitialized: [m])
        let recording = isRecording && logits.requiresGradient
        let gradient = recording ? Tensor(uninitialized: [m, v]) : nil
        let sum = targets.withUnsafeBufferPointer {
            LossKernels.crossEntropyForward(logits: logits.value.data, targets: $0.baseAddress!, logSumExp: lse.data, rows: m, classes: v,
                                            gradient: gradient?.data, gradientScale: 1 / norm)
        }
        let loss = Tensor(scalar: Float(sum / Double(norm)))
        guard let gradient else { return Variable(constant: loss) }
        return record(.crossEntropy(logits: logits, gradient: gradient), loss, [logits])
    }

    /// Σ cross-entropy(x (M,C) · weightᵀ + bias, targets (M)) / normalizer, with the argmax of each
    /// row (−1 where the target is ``LossKernels/ignoreIndex``). The same value and gradients as
    /// `crossEntropy(linear(x, weight: weight, bias: bias), …)`, but the (M,V) logits — 75 MB for
    /// 614 masked rows over BERT's 30522-word vocabulary — are written once and turned into their
    /// gradient in place, the bias added and its gradient summed in the same pass: the MLM decoder.
    public func linearCrossEntropy(_ x: Variable, weight: Variable, bias: Variable?, targets: [Int32],
                                   normalizer: Float? = nil) -> (loss: Variable, predictions: [Int32]) {
        let result = linearCrossEntropy(x, weight: weight, bias: bias, targets: targets, normalizer: normalizer, sampling: nil)
        return (result.loss, result.predictions)
    }

    /// ``linearCrossEntropy(_:weight:bias:targets:normalizer:)`` that also draws one class per row
    /// from softmax(logits/temperature), one uniform in [0, 1) per row (−1 for ignored rows). The
    /// draw is an integer: no gradient flows through it.
    public func linearCrossEntropy(_ x: Variable, weight: Variable, bias: Variable?, targets: [Int32], normalizer: Float? = nil,
                                   sampling: (uniforms: [Float], temperature: Float)?) -> (loss: Variable, predictions: [Int32], samples: [Int32]) {
        let (m, c, v) = (x.value.rowCount, x.value.lastDimension, weight.shape[0])
        precondition(weight.shape == [v, c], "linearCrossEntropy: weight \(weight.shape) does not take inputs of width \(c)")
        precondition(bias == nil || bias!.shape == [v], "linearCrossEntropy: bias \(bias!.shape) for \(v) classes")
        precondition(targets.count == m, "linearCrossEntropy: \(targets.count) targets for \(m) rows")
        precondition(targets.allSatisfy { $0 == LossKernels.ignoreIndex || (0..<Int32(v)).contains($0) },
                     "linearCrossEntropy: a target is outside 0..<\(v)")
        precondition(sampling == nil || sampling!.uniforms.count == m, "linearCrossEntropy: one uniform per row to sample")
        if m == 0 { return (Variable(constant: Tensor(scalar: 0)), [], []) }
        let norm = normalizer ?? Float(max(1, targets.withUnsafeBufferPointer { LossKernels.countTargets($0) }))
        let recording = isRecording && (x.requiresGradient || weight.requiresGradient || bias?.requiresGradient == true)
        let logits = Tensor(uninitialized: [m, v])
        MatmulKernel.forward(logits.data, x.value.data, weight.value.data, m: m, n: v, k: c, transposeB: true)
        let biasGradient = recording && bias?.requiresGradient == true ? Tensor(zeros: [v]) : nil
        var predictions = [Int32](repeating: -1, count: m)
        var samples = [Int32](repeating: -1, count: sampling == nil ? 0 : m)
        let uniforms = sampling?.uniforms ?? []
        let sum = targets.withUnsafeBufferPointer { t in
            predictions.withUnsafeMutableBufferPointer { p in
                samples.withUnsafeMutableBufferPointer { drawn in
                    uniforms.withUnsafeBufferPointer { u in
                        LossKernels.biasCrossEntropyInPlace(
                            logits.data, bias: bias.map { UnsafePointer($0.value.data) }, targets: t.baseAddress!,
                            rows: m, classes: v, predictions: p.baseAddress!,
                            gradientScale: recording ? 1 / norm : nil, biasGradient: biasGradient?.data,
                            sampling: sampling.map { (u.baseAddress!, $0.temperature, drawn.baseAddress!) })
                    }
                }
            }
        }
        let loss = Tensor(scalar: Float(sum / Double(norm)))
        guard recording else { return (Variable(constant: loss), predictions, samples) }
        let inputs = [x, weight] + (bias.map { [$0] } ?? [])
        return (record(.linearCrossEntropy(x: x, weight: weight, bias: bias, gradient: logits, biasGradient: biasGradient), loss, inputs),
                predictions, samples)
    }

    /// Σ w·BCE(σ(logits), targets) / normalizer (default Σ w); weights nil means all ones.
    public func binaryCrossEntropyWithLogits(_ logits: Variable, targets: Tensor, weights: Tensor? = nil, normalizer: Float? = nil) -> Variable {
        let n = logits.value.count
        precondition(targets.count == n && (weights == nil || weights!.count == n), "bce: targets/weights must match \(logits.shape)")
        let sum = LossKernels.bceWithLogitsForward(logits: logits.value.data, targets: targets.data, weights: weights?.data, count: n)
        let norm = normalizer ?? Float(max(1e-12, weights.map { Reduce.sum($0.data, count: n) } ?? Double(n)))
        return record(.bceWithLogits(logits: logits, targets: targets, weights: weights, normalizer: norm),
                      Tensor(scalar: Float(sum / Double(norm))), [logits])
    }

    /// τ²·Σ_rows KL(softmax(teacher/τ) ‖ softmax(student/τ)) / normalizer (default: rows, PyTorch's
    /// `batchmean`): DistilBERT's soft-target loss.
    public func klDivergence(student: Variable, teacher: Variable, temperature: Float, normalizer: Float? = nil) -> Variable {
        precondition(student.shape == teacher.shape, "klDivergence: student \(student.shape) vs teacher \(teacher.shape)")
        let (m, v) = (student.value.rowCount, student.value.lastDimension)
        let sl = Tensor(uninitialized: [m]), tl = Tensor(uninitialized: [m])
        let sum = LossKernels.klDivergenceForward(student: student.value.data, teacher: teacher.value.data, temperature: temperature,
                                                  studentLSE: sl.data, teacherLSE: tl.data, rows: m, classes: v)
        let norm = normalizer ?? Float(max(1, m))
        let loss = Float(sum * Double(temperature * temperature) / Double(norm))
        return record(.klDivergence(student: student, teacher: teacher, temperature: temperature, studentLSE: sl, teacherLSE: tl, normalizer: norm),
                      Tensor(scalar: loss), [student, teacher])
    }

    /// Row-wise cosine similarity of a, b (N,C) → (N).
    public func cosineSimilarity(_ a: Variable, _ b: Variable, eps: Float = 1e-8) -> Variable {
        precondition(a.shape == b.shape, "cosineSimilarity: \(a.shape) vs \(b.shape)")
        let (n, c) = (a.value.rowCount, a.value.lastDimension)
        let out = Tensor(uninitialized: [n])
        LossKernels.cosineSimilarityForward(out.data, a: a.value.data, b: b.value.data, rows: n, columns: c, eps: eps)
        return record(.cosineSimilarity(a, b, eps: eps), out, [a, b])
    }

    /// Masked mean over T of x (B,T,C) with mask (B,T) → (B,C) (sentence-transformers' pooling).
    public func meanPool(_ x: Variable, mask: Tensor) -> Variable {
        precondition(x.value.rank == 3 && mask.count == x.shape[0] * x.shape[1], "meanPool: x \(x.shape), mask \(mask.shape)")
        let (b, t, c) = (x.shape[0], x.shape[1], x.shape[2])
        let out = Tensor(uninitialized: [b, c])
        LossKernels.meanPoolForward(out.data, x.value.data, mask: mask.data, batch: b, steps: t, columns: c)
        return record(.meanPool(x, mask: mask), out, [x])
    }

    /// Σ x → scalar.
    public func sum(_ x: Variable) -> Variable {
        record(.sum(x), Tensor(scalar: Float(Reduce.sum(x.value.data, count: x.value.count))), [x])
    }

    /// mean(x) → scalar.
    public func mean(_ x: Variable) -> Variable {
        scale(sum(x), by: 1 / Float(max(1, x.value.count)))
    }
}
