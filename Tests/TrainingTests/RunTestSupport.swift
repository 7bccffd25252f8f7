import Foundation
import XCTest

/// What the run tests share: the package's recipes and throwaway run folders.
protocol RunFolders: XCTestCase {}

extension RunFolders {
    /// The package's `recipes/` folder.
    var recipes: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("recipes")
    }

    /// A fresh temporary folder path, removed when the test ends.
    func folder() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}
