import ArgumentParser

/// `pretrain`: pretraining and fine-tuning BERT-family encoders.
@main
struct Pretrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Pretrain and fine-tune BERT-family encoders on a CPU.",
        subcommands: [BenchCommand.self, TokenizerCommand.self])
}
