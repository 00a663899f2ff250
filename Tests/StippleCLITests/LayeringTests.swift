import Foundation
import Testing

/// The CLI parses, calls the application layer and renders: it holds no rule, permission,
/// sealing or access-log decision. SwiftPM lets a target import any module of its
/// package, and `package` declarations are visible to it, so this test holds the line.
@Suite("The CLI is a front end only")
struct LayeringTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Sources/StippleCLI")

    /// Modules whose plain data types the CLI renders (events, messages, days, report
    /// tables, roles), besides the application layer and the parsing library.
    static let allowedImports: Set<String> = [
        "ArgumentParser", "Discretion", "EventLog", "Foundation", "Logging", "Reports", "StippleServer", "StippleService", "SwiftProtobuf", "Treatment",
    ]

    /// What only the application layer may touch: the log's read and write API, the
    /// rules' decisions, keys, sealing, users, the access policy and the reports' runtime.
    static let forbidden = [
        "EventLog(", "EventLog.create", ".transact(", ".writeTables", ".readTables", ".log.", "Recorder", "AccessPolicy", "AccessLog.",
        "PersonalData", "ClientKeys", "MasterKey.", "Users(", "Pseudonyms", "Sealing.", "Tokens.", "ClinicReports(", "Projector(", "EventAccess",
    ]

    static func files() throws -> [(String, String)] {
        let enumerator = try #require(FileManager.default.enumerator(atPath: sources.path))
        return try enumerator.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }.map {
            ($0, try String(contentsOf: sources.appendingPathComponent($0), encoding: .utf8))
        }
    }

    @Test("it imports the application layer and data types only, and calls no lower layer")
    func noPolicy() throws {
        let files = try Self.files()
        #expect(files.count > 10, "the CLI's sources were found")
        for (name, text) in files {
            for line in text.split(separator: "\n") {
                if line.hasPrefix("import ") || line.hasPrefix("@testable import ") {
                    let module = String(line.split(separator: " ").last ?? "")
                    #expect(Self.allowedImports.contains(module), "\(name) imports \(module)")
                }
                let code = line.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
                for word in Self.forbidden where code.contains(word) {
                    Issue.record("\(name) uses \(word): \(line.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
    }
}
