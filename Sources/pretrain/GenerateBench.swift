import ArgumentParser
import Foundation
import BLAS
import Models

/// `pretrain bench generate`: greedy decoding with the key/value cache, as `pretrain generate` runs it.
struct GenerateBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "New tokens/s and peak memory of greedy generation with the key/value cache (GPT-2).")

    @Option(help: "A preset (gpt2, gpt2-mini, …; BERT sizes become GPT-2s of their size), config.json or model folder: its shape, random weights.")
    var config: String = "gpt2-mini"

    @Option(help: "Vocabulary size (default: the config's).")
    var vocabSize: Int?

    @Option(help: "Threads for our kernels and BLAS (default: all cores).")
    var threads: Int?

    @Option(help: "Prompts decoded together.")
    var batchSize: Int = 1

    @Option(help: "Prompt tokens (random ids).")
    var promptLength: Int = 16

    @Option(help: "New tokens per prompt (end-of-text does not stop the benchmark).")
    var newTokens: Int = 64

    @Option(help: "Timed generations (after one warm-up).")
    var repeats: Int = 3

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        Threading.configure(threads: threads ?? Threading.coreCount)
        var c = try EncoderConfiguration.resolve(config).asGPT2()
        if let vocabSize { c.vocabSize = vocabSize }
        c.padTokenId = c.vocabSize - 1
        let model = try PretrainingModel(config: c, heads: [.causalLM], seed: 1)
        var rng = RandomGenerator(seed: 2)
        let prompts = (0..<batchSize).map { _ in (0..<promptLength).map { _ in Int32(rng.integer(below: c.vocabSize - 1)) } }
        let options = GenerationOptions(maxNewTokens: newTokens, stopToken: -1)
        _ = try model.generate(prompts, options: options)
        var seconds: [Double] = []
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            let out = try model.generate(prompts, options: options)
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            precondition(out.allSatisfy { $0.count == newTokens })
        }
        let median = seconds.sorted()[seconds.count / 2]
        try printBenchResult(["config": config, "threads": Threading.threadCount, "batch": batchSize, "prompt_length": promptLength,
                              "new_tokens": newTokens, "tokens_per_s": Double(batchSize * newTokens) / median,
                              "ms_per_token": median * 1e3 / Double(newTokens), "peak_rss_mb": peakResidentMiB(),
                              "blas_kernel": BLASKernelSelection.coreName], json: json)
    }
}
