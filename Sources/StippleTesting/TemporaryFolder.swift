import Foundation

/// A folder of its own for a test, removed when the last reference goes.
public final class TemporaryFolder: Sendable {
    public let path: String

    /// - Parameter prefix: the folder name's start, to tell tests' folders apart.
    public init(_ prefix: String = "stipple-tests") throws {
        path = NSTemporaryDirectory() + prefix + "-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// The path of `name` in the folder.
    public func file(_ name: String) -> String { path + "/" + name }
}
