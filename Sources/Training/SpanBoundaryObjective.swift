import Models

/// SpanBERT's span-boundary objective head (Joshi et al. 2020, §3.2): every token x_i of a masked
/// span (s…e) is predicted from the encoder outputs just outside the span and a learned embedding
/// of its position inside it:
///
///     h0 = [x_{s−1}; x_{e+1}; p_{i−s+1}]
///     h1 = LayerNorm(GeLU(W1·h0)),  y = LayerNorm(GeLU(W2·h1))
///
/// and y is scored by the token-embedding decoder the MLM head uses (tied), with its own bias.
/// As in the reference code, the position embeddings are 200 wide; offsets past the table's last
/// row (spans longer than `maxOffsets` pieces) share that row.
public final class SpanBoundaryHead: Module {
    public let positions: Embedding
    public let dense1: Linear
    public let norm1: LayerNorm
    public let dense2: Linear
    public let norm2: LayerNorm
    public let bias: Parameter
    public let decoderWeight: Parameter

    public static let positionWidth = 200
    public let maxOffsets: Int

    public init(config: EncoderConfiguration, tiedTo embeddings: Embedding, maxOffsets: Int = 32, rng: inout RandomGenerator) {
        let (h, e) = (config.hiddenSize, embeddings.weight.shape[1])
        self.maxOffsets = maxOffsets
        positions = Embedding("sbo.position_embeddings", count: maxOffsets, dimension: Self.positionWidth,
                              std: config.initializerRange, rng: &rng)
        dense1 = Linear("sbo.dense1", inFeatures: 2 * h + Self.positionWidth, outFeatures: h, std: config.initializerRange, rng: &rng)
        norm1 = LayerNorm("sbo.norm1", features: h, eps: config.layerNormEps)
        dense2 = Linear("sbo.dense2", inFeatures: h, outFeatures: e, std: config.initializerRange, rng: &rng)
        norm2 = LayerNorm("sbo.norm2", features: e, eps: config.layerNormEps)
        bias = Parameter(name: "sbo.bias", value: Tensor(zeros: [config.vocabSize]))
        decoderWeight = embeddings.weight
    }

    /// The head's own parameters (the decoder weight belongs to the embeddings).
    public var parameters: [Parameter] {
        positions.parameters + dense1.parameters + norm1.parameters + dense2.parameters + norm2.parameters + [bias]
    }

    /// hidden (B,T,H); left, right: flat boundary rows (M) into B·T; offsets (M) → logits (M,V).
    public func callAsFunction(_ hidden: Variable, left: [Int32], right: [Int32], offsets: [Int32], tape: Tape) throws -> Variable {
        let flat = tape.reshape(hidden, [-1, hidden.shape.last!])
        let clipped = offsets.map { min(max(0, $0), Int32(maxOffsets - 1)) }
        let h0 = tape.concatenate([try tape.gather(flat, indices: left), try tape.gather(flat, indices: right),
                                   try positions(clipped, tape: tape)])
        let h1 = norm1(tape.gelu(dense1(h0, tape: tape)), tape: tape)
        let y = norm2(tape.gelu(dense2(h1, tape: tape)), tape: tape)
        return tape.linear(y, weight: tape.parameter(decoderWeight), bias: tape.parameter(bias))
    }
}

/// SpanBERT's span-boundary objective (Joshi et al. 2020, §3.2) beside MLM: every masked token
/// of a span predicted by ``SpanBoundaryHead`` from the encoder outputs at the span's boundaries,
/// mean cross-entropy over the predictions of the accumulated batch. Metrics `sbo_loss`,
/// `sbo_accuracy`.
public final class SpanBoundaryObjective: PretrainingObjective {
    public let head: SpanBoundaryHead
    public let name = ObjectiveKind.sbo.rawValue

    public init(model: PretrainingModel, seed: UInt64) {
        var rng = RandomGenerator(seed: seed, stream: [0x5b0])
        head = SpanBoundaryHead(config: model.config, tiedTo: model.encoder.embeddings.words, rng: &rng)
    }

    public var parameters: [Parameter] { head.parameters }

    public func rowsRead(in batch: PretrainingBatch) -> [Int32] { batch.spanLeft + batch.spanRight }

    public func normalizerCounts(in batch: PretrainingBatch) -> [Int] { [batch.predictionCount] }

    public func loss(_ pass: ForwardPass, normalizers: [Int], statistics: inout ObjectiveStatistics) throws -> Variable? {
        let batch = pass.batch
        guard !batch.spanLeft.isEmpty else { return nil }
        let out = try pass.encoderOutput()
        let m = Float(max(1, normalizers[0]))
        let logits = try head(out.hidden, left: out.rows(at: batch.spanLeft), right: out.rows(at: batch.spanRight),
                              offsets: batch.spanOffsets, tape: pass.tape)
        let loss = pass.tape.crossEntropy(logits, targets: batch.labels, normalizer: m)
        statistics.add("sbo_loss", Double(loss.value.scalar) * Double(m), over: batch.predictionCount)
        statistics.add("sbo_accuracy", Double(correctCount(logits.value, batch.labels)), over: batch.predictionCount)
        return loss
    }

    public func forwardFLOPs(of batch: PretrainingBatch) -> Double {
        let products = head.dense1.weight.value.count + head.dense2.weight.value.count + head.decoderWeight.value.count
        return Double(batch.predictionCount) * 2 * Double(products)
    }
}
