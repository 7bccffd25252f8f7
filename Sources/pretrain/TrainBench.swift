import ArgumentParser
import Foundation
import BLAS
import Models
import PretrainingData
import Training

/// Options shared by the model benchmarks.
struct ModelBenchOptions: ParsableArguments {
    @Option(help: "Model size: tiny (L2 H128), mini (L4 H256) or small (L4 H512) — the model issue's BERT shapes — or any preset, config.json or model folder (its shape, random weights).")
    var config: String = "tiny"

    @Option(help: "Threads for our kernels and BLAS (default: all cores).")
    var threads: Int?

    @Option(help: "Timed steps (after 2 warm-up steps).")
    var steps: Int = 10

    @Option(help: "Batch size (default: 16 for small, else 32).")
    var batchSize: Int?

    @Option(help: "Sequence length.")
    var sequenceLength: Int = 128

    @Option(help: "Vocabulary size (BERT's 30522 by default; compare with `pretrain train` at its tokenizer's size).")
    var vocabSize: Int = 30522

    @Flag(help: "Print one JSON object.")
    var json = false

    var batch: Int { batchSize ?? (config == "small" ? 16 : 32) }

    /// The preset (or file) with the requested vocabulary size.
    func modelConfig() throws -> EncoderConfiguration {
        var c = try EncoderConfiguration.resolve(config)
        c.vocabSize = vocabSize
        return c
    }

    /// Random token ids (avoiding the 1000 lowest, as the PyTorch script does) and 15% masked positions per sequence.
    func makeBatch(vocab: Int, seed: UInt64) -> (EncoderInput, positions: [Int32], labels: [Int32]) {
        var rng = RandomGenerator(seed: seed)
        let (b, t) = (batch, sequenceLength)
        let ids = (0..<(b * t)).map { _ in Int32(1000 + rng.integer(below: vocab - 1000)) }
        let perSequence = max(1, Int((0.15 * Double(t)).rounded()))
        var positions: [Int32] = []
        for s in 0..<b {
            var chosen = Set<Int>()
            while chosen.count < perSequence { chosen.insert(rng.integer(below: t)) }
            positions += chosen.sorted().map { Int32(s * t + $0) }
        }
        let labels = positions.map { ids[Int($0)] }
        return (EncoderInput(ids: ids, batch: b, length: t), positions, labels)
    }
}

extension ModelBenchOptions {
    /// Seconds per call of `body`, over ``steps`` calls after 2 warm-up calls.
    func secondsPerStep(_ body: (Int) throws -> Void) rethrows -> Double {
        for i in 0..<2 { try body(i) }
        let start = DispatchTime.now().uptimeNanoseconds
        for i in 0..<steps { try body(2 + i) }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(steps)
    }

    /// The fields every model benchmark reports.
    func report(seconds: Double, flops: Double) -> [String: Any] {
        let tokens = Double(batch * sequenceLength)
        return ["config": config, "threads": Threading.threadCount, "batch": batch, "sequence_length": sequenceLength,
                "tokens_per_s": tokens / seconds, "gflops": flops / seconds / 1e9, "peak_rss_mb": peakResidentMiB(),
                "step_ms": seconds * 1e3, "blas_kernel": BLASKernelSelection.coreName]
    }
}

/// Peak resident memory of this process in MiB (VmHWM).
func peakResidentMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kb / 1024
    }
    return 0
}

/// The objectives `bench train` can time.
enum BenchObjective: String, ExpressibleByArgument, CaseIterable {
    /// MLM on the 15 % masked rows (the model issue's step).
    case mlm
    /// ELECTRA: a generator 1/4 of the model's width (MLM + sampled replacements) and the model as
    /// discriminator (replaced-token detection on every token).
    case rtd
    /// DistilBERT: the config as a frozen BERT teacher (forward only), a student of every other
    /// layer trained on soft targets over every token + MLM + cosine.
    case distillation
    /// GPT-2: next-token prediction at every position (the config made a GPT-2 of its size).
    case clm
}

/// `pretrain bench train`: one training step of `pretrain train` — the trainer's own step
/// (``PretrainingObjectives/accumulateGradients(_:dropoutSeed:draws:profile:)``) and AdamW — on
/// random token ids with 15 % masked, dropout 0.1: MLM (embeddings, encoder, MLM head on the
/// masked rows, cross-entropy) or ELECTRA's generator + discriminator.
struct TrainBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Tokens/s, GFLOP/s and peak memory of a pretraining step (MLM, ELECTRA, DistilBERT or GPT-2's CLM).")

    @OptionGroup var options: ModelBenchOptions

    @Option(help: "mlm (the model issue's step), rtd (ELECTRA: the config is the discriminator, the generator 1/4 of its width), distillation (DistilBERT: the config is the frozen teacher, the student every other layer) or clm (GPT-2 of the config's size: next-token loss at every position).")
    var objective: BenchObjective = .mlm

    @Flag(help: "Also report milliseconds per step in forward (with the losses), backward and optimizer, and per backward rule.")
    var profile = false

    func run() throws {
        Threading.configure(threads: options.threads ?? Threading.coreCount)
        var config = try options.modelConfig()
        let objectives: PretrainingObjectives
        switch objective {
        case .mlm:
            let model = try PretrainingModel(config: config, heads: [.maskedLM], seed: 1)
            objectives = try PretrainingObjectives(model: model, objectives: [try MaskedLanguageModeling(model: model)])
        case .rtd:
            (config.family, config.pooler) = (.electra, false)
            objectives = try PretrainingObjectives(model: nil, objectives: [try ReplacedTokenDetection(config: config, seed: 1)])
        case .distillation:
            let teacher = try PretrainingModel(config: config, heads: [.maskedLM], seed: 1)
            let student = try teacher.student(layers: PretrainingModel.defaultStudentLayers(teacherLayers: config.layers))
            objectives = try PretrainingObjectives(model: student, objectives: [try KnowledgeDistillation(teacher: teacher, student: student)])
        case .clm:
            config = config.asGPT2()
            let model = try PretrainingModel(config: config, heads: [.causalLM], seed: 1)
            objectives = try PretrainingObjectives(model: model, objectives: [try CausalLanguageModeling(model: model)])
        }
        let optimizer = AdamW(parameters: objectives.parameters, weightDecay: 0.01)
        optimizer.clearsGradients = true
        let batch = options.makeTrainingBatch(vocab: config.vocabSize, seed: 2)
        var last = ObjectiveStatistics()
        var stepProfile: StepProfile?, optimizerSeconds = 0.0
        func step(_ index: Int) throws {
            if index == 2 && profile { (stepProfile, optimizerSeconds) = (StepProfile(), 0) }  // keep the timed steps only
            var draws = RandomGenerator(seed: 3, stream: [UInt64(index)])
            last = try objectives.accumulateGradients([batch], dropoutSeed: { UInt64(index) }, draws: &draws, profile: &stepProfile)
            let start = DispatchTime.now().uptimeNanoseconds
            optimizer.step(lr: 1e-4)
            optimizerSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        let seconds = try options.secondsPerStep(step)
        var result = options.report(seconds: seconds, flops: 3 * objectives.forwardFLOPs(of: batch))
        result["objective"] = objective.rawValue
        result["loss"] = last.loss
        if let stepProfile {
            let perStep = { (s: Double) in s * 1e3 / Double(options.steps) }
            result["phase_ms"] = ["forward": perStep(stepProfile.forwardSeconds), "backward": perStep(stepProfile.backwardSeconds),
                                  "optimizer": perStep(optimizerSeconds)]
            result["backward_rule_ms"] = stepProfile.backwardRules.mapValues(perStep)
        }
        try printBenchResult(result, json: options.json)
    }
}

extension ModelBenchOptions {
    /// ``makeBatch(vocab:seed:)`` collated as the trainer collates a masked batch (positions
    /// padded to a multiple of 64 with ignored rows), inputs left unmasked as the PyTorch script does.
    func makeTrainingBatch(vocab: Int, seed: UInt64) -> PretrainingBatch {
        let (input, positions, _) = makeBatch(vocab: vocab, seed: seed)
        let t = input.length
        let items = (0..<input.batch).map { row -> (instance: PretrainingInstance, masked: MaskedInstance) in
            let ids = Array(input.ids[(row * t)..<((row + 1) * t)])
            let picked = positions.filter { Int($0) / t == row }.map { $0 - Int32(row * t) }
            return (PretrainingInstance(ids: ids, tokenTypes: [Int32](repeating: 0, count: t), isSpecial: [Bool](repeating: false, count: t),
                                        wordStarts: [Bool](repeating: true, count: t)),
                    MaskedInstance(inputIDs: ids, positions: picked, labels: picked.map { ids[Int($0)] }))
        }
        return PretrainingBatch(items, length: t, padID: 0)
    }
}

/// What `bench infer` runs after the encoder.
enum InferenceTask: String, ExpressibleByArgument, CaseIterable {
    /// `embed`: masked mean pooling over every position.
    case embed
    /// `fill-mask`: the MLM head's logits at the 15 % masked positions.
    case fillMask = "fill-mask"
}

/// `pretrain bench infer`: the no-grad forward of `embed` (encoder + masked mean pooling) or of
/// `fill-mask` (encoder + MLM logits at the masked positions).
struct InferBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer", abstract: "Tokens/s and peak memory of a no-grad forward (as `embed` or `fill-mask`).")

    @OptionGroup var options: ModelBenchOptions
    @Option(help: "embed (encoder + mean pooling) or fill-mask (encoder + MLM logits at 15% of positions).")
    var task: InferenceTask = .embed

    func run() throws {
        Threading.configure(threads: options.threads ?? Threading.coreCount)
        let config = try options.modelConfig()
        let model = try PretrainingModel(config: config, heads: task == .fillMask ? [.maskedLM] : [], seed: 1)
        let (input, positions, _) = options.makeBatch(vocab: config.vocabSize, seed: 2)
        let mask = Tensor(repeating: 1, shape: [options.batch, options.sequenceLength])
        func forward(_: Int) throws {
            let tape = Tape(recording: false)
            switch task {
            case .embed:
                let out = try model.encoder(input, training: false, tape: tape)
                _ = tape.meanPool(out.hidden, mask: mask)
            case .fillMask:
                let out = try model.encoder(input, training: false, tape: tape, readingOnly: positions)
                _ = try model.maskedLM!(out.hidden, positions: out.rows(at: positions), tape: tape)
            }
        }
        let seconds = try options.secondsPerStep(forward)
        // Model FLOPs (every row of every layer, as PyTorch computes them; the row selection's
        // savings are not subtracted): the convention of model-FLOPs utilisation.
        let flops = model.encoder.forwardFLOPs(sequences: options.batch, length: options.sequenceLength)
            + (task == .fillMask ? model.maskedLM?.forwardFLOPs(rows: positions.count) ?? 0 : 0)
        var result = options.report(seconds: seconds, flops: flops)
        result["task"] = task.rawValue
        let bound = denseProductSeconds(config, tokens: options.batch * options.sequenceLength,
                                        readRows: task == .fillMask ? positions.count : nil)
        result["dense_products_bound_tokens_per_s"] = Double(options.batch * options.sequenceLength) / bound
        try printBenchResult(result, json: options.json)
    }
}

/// Seconds for the dense matrix products of one forward pass alone — Q/K/V, attention output,
/// FFN up and down in every layer (the last on `readRows` rows when given, K and V on all), plus
/// the MLM transform and decoder on those rows — through the same BLAS entry point and threads.
/// No attention, LayerNorm, GELU, embedding or softmax: a bound on the speed of *any*
/// implementation of the forward that does these products with this BLAS.
func denseProductSeconds(_ c: EncoderConfiguration, tokens n: Int, readRows: Int?, repeats: Int = 5) -> Double {
    let (h, i, v) = (c.hiddenSize, c.intermediateSize, c.vocabSize)
    var products: [(rows: Int, outFeatures: Int, inFeatures: Int)] = []
    for layer in 0..<c.layers {
        let r = layer == c.layers - 1 ? readRows ?? n : n
        products += r == n ? [(n, 3 * h, h)] : [(n, 2 * h, h), (r, h, h)]
        products += [(r, h, h), (r, i, h), (r, h, i)]
    }
    if let readRows { products += [(readRows, h, h), (readRows, v, h)] }
    var rng = RandomGenerator(seed: 3)
    let operands = products.map { p -> (Tensor, Tensor, Tensor) in
        let x = Tensor(uninitialized: [p.rows, p.inFeatures]), w = Tensor(uninitialized: [p.outFeatures, p.inFeatures])
        rng.fillUniform(x, low: -1, high: 1)
        rng.fillUniform(w, low: -1, high: 1)
        return (x, w, Tensor(uninitialized: [p.rows, p.outFeatures]))
    }
    func run() {
        for (p, (x, w, out)) in zip(products, operands) {
            MatmulKernel.forward(out.data, x.data, w.data, m: p.rows, n: p.outFeatures, k: p.inFeatures, transposeB: true)
        }
    }
    run()
    let start = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<repeats { run() }
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(repeats)
}

/// Wall time of named phases, summed over calls; measures nothing when disabled.
struct PhaseTimer {
    let enabled: Bool
    var seconds: [String: Double] = [:]

    mutating func measure<R>(_ name: String, _ body: () throws -> R) rethrows -> R {
        guard enabled else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        defer { seconds[name, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        return try body()
    }
}

func printBenchResult(_ result: [String: Any], json: Bool) throws {
    if json {
        let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    } else {
        for (key, entry) in result.sorted(by: { $0.key < $1.key }) {
            switch entry {
            case let d as Double: print(String(format: "%-16@ %.1f", key, d))
            case let table as [String: Double]:  // a profile: largest first
                print(key)
                for (name, value) in table.sorted(by: { $0.value > $1.value }) {
                    print("  " + name.padding(toLength: 20, withPad: " ", startingAt: 0) + String(format: "%8.2f", value))
                }
            case let value: print(String(format: "%-16@ ", key) + "\(value)")
            }
        }
    }
}
