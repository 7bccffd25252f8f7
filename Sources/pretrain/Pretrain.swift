import ArgumentParser
import BLAS

/// `pretrain`: pretraining and fine-tuning BERT-family encoders.
@main
struct Pretrain: ParsableCommand {
    static func main() {
        BLASKernelSelection.reexecuteWithBetterKernelIfNeeded(arguments: CommandLine.arguments)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Pretrain and fine-tune BERT-family encoders on a CPU.",
        subcommands: [BenchCommand.self, TokenizerCommand.self, ParamsCommand.self, FillMaskCommand.self,
                      EmbedCommand.self, DetectReplacedCommand.self, GenerateCommand.self, InitCommand.self, DistillInitCommand.self, TasksCommand.self, FineTuneCommand.self, EvalCommand.self,
                      CorpusCommand.self, PrepareCommand.self, TrainCommand.self, RecipeCommand.self, ReportCommand.self])
}
