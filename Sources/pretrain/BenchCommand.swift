import ArgumentParser

/// `pretrain bench …`: release-mode benchmarks (not part of `swift test`).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks, run in release mode.",
        subcommands: [KernelBench.self, TrainBench.self, InferBench.self, GenerateBench.self, TokenizerBench.self])
}
