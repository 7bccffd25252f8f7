import ArgumentParser
import BLAS
import Collectives
import Foundation

/// `pretrain`: pretraining and fine-tuning BERT-family encoders.
@main
struct Pretrain: ParsableCommand {
    static func main() {
        BLASKernelSelection.reexecuteWithBetterKernelIfNeeded(arguments: CommandLine.arguments)
        // Under `mpirun` this initialises MPI; a plain start stays one process without it.
        let world = ProcessGroup.world
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            // One rank that cannot go on ends every rank (MPI_Abort), so none waits in a collective.
            if world.isDistributed, exitCode(for: error) != .success {
                let message = fullMessage(for: error)
                if !message.isEmpty { FileHandle.standardError.write(Data("error: \(message)\n".utf8)) }
                FileHandle.standardError.write(Data("rank \(world.rank) of \(world.size) failed; stopping every rank of the job\n".utf8))
                world.abort(code: exitCode(for: error).rawValue)
            }
            world.finalize()
            exit(withError: error)
        }
        world.finalize()
    }

    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Pretrain and fine-tune BERT-family encoders on a CPU.",
        subcommands: [BenchCommand.self, TokenizerCommand.self, ParamsCommand.self, FillMaskCommand.self,
                      EmbedCommand.self, DetectReplacedCommand.self, GenerateCommand.self, InitCommand.self, ConvertCommand.self, DistillInitCommand.self, TasksCommand.self, FineTuneCommand.self, EvalCommand.self,
                      CorpusCommand.self, PrepareCommand.self, TrainCommand.self, RecipeCommand.self, ReportCommand.self, ReproduceCommand.self])
}
