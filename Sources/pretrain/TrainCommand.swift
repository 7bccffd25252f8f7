import ArgumentParser
import Foundation
import Training

/// `pretrain recipe list|show`: the shipped recipes and the effective configuration of one.
struct RecipeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recipe", abstract: "List recipes or print a recipe's effective configuration.",
        subcommands: [RecipeList.self, RecipeShow.self])
}

struct RecipeList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Names and descriptions of the recipes in recipes/.")

    func run() throws {
        for name in Recipe.availableNames() {
            let recipe = try? Recipe.load(name)
            print(name.padding(toLength: 12, withPad: " ", startingAt: 0) + (recipe?.description ?? "(unreadable)"))
        }
    }
}

struct RecipeShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print a recipe with overrides applied, as JSON.")

    @Argument(help: "A recipe name (recipes/NAME.json) or a recipe file.") var recipe: String
    @Option(name: .customLong("set"), help: "Override a setting: key=value (repeatable).") var overrides: [String] = []

    func run() throws {
        try reportingErrors { print(try Recipe.load(recipe, overrides: overrides).json()) }
    }
}

/// Prints an error's description and exits with status 1 (no stack trace, no crash).
func reportingErrors(_ body: () throws -> Void) throws {
    do { try body() } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}
