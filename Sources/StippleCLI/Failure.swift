import ArgumentParser
import EventLog
import Foundation
import Reports
import Discretion
import Treatment

/// What the CLI prints and which exit code it uses when a command fails.
struct Failure: Error, CustomStringConvertible {
    /// Exit codes: stable, documented in `stipple --help`.
    enum Code: Int32 {
        case failure = 1
        case badInput = 2
        case conflict = 3
        /// A command broke the domain's rules.
        case refused = 4
        /// No valid token, or a permission the user lacks.
        case denied = 5
    }

    var code: Code
    var message: String
    var description: String { message }

    static func badInput(_ message: String) -> Failure { Failure(code: .badInput, message: message) }

    /// Maps any error to its exit code and a sentence.
    static func from(_ error: any Error) -> Failure {
        switch error {
        case let failure as Failure:
            return failure
        case let refusal as Refusal:
            return Failure(code: .refused, message: refusal.description)
        case let error as ValidationError:
            return .badInput(error.message)
        case let error as CatalogueError:
            return .badInput(error.description)
        case let error as EventLogError:
            switch error {
            case .versionConflict: return Failure(code: .conflict, message: error.description)
            case .noLog, .notAStippleLog, .logFromNewerVersion, .eventIdReused, .invalidEvent, .tooLarge:
                return Failure(code: .badInput, message: error.description)
            case .readOnly, .diskFull, .damaged, .corruptEvent, .database:
                return Failure(code: .failure, message: error.description)
            }
        case let denied as AccessDenied:
            return Failure(code: .denied, message: "refused: " + denied.description + "; nothing was done")
        case let error as UserError:
            switch error {
            case .noToken, .notAToken, .unknownToken, .disabled, .noUsers:
                return Failure(code: .denied, message: "refused: " + error.description)
            case .userExists, .unknownUser, .invalidName, .clinicsRequired, .clinicsNotAllowed, .invalidClinic, .lastAdmin:
                return .badInput(error.description)
            }
        case let error as DiscretionError:
            if case .clientErased = error { return Failure(code: .refused, message: error.description + "; nothing was recorded") }
            if case .unsealedInput = error { return Failure(code: .badInput, message: error.description + "; nothing was recorded") }
            return Failure(code: .failure, message: error.description)
        case let error as ReportsError:
            switch error {
            case .unknownProjection, .notFound, .invalidArgument:
                return .badInput(error.description)
            case .undecodable, .notBuilt, .swapStarved, .rebuildReplaced, .rebuildRequired:
                return Failure(code: .failure, message: error.description)
            }
        case is CancellationError:
            return Failure(code: .failure, message: "interrupted; run the command again to go on where it stopped")
        default:
            return Failure(code: .failure, message: String(describing: error))
        }
    }
}

/// Runs a command body, printing failures as `stipple: error: …` and exiting with their code.
func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        let failure = Failure.from(error)
        Output.error("error: \(failure.message)")
        throw ExitCode(failure.code.rawValue)
    }
}

/// Writing to standard output and error.
enum Output {
    /// `nonisolated(unsafe)`: only a command's own `run()` writes lines, one call after
    /// another on one task; progress callbacks (which may run on other threads) write to
    /// standard error directly and never touch this buffer.
    nonisolated(unsafe) private static var stdoutBuffer: [UInt8] = []

    /// Buffers a line for standard output (flushed at 64 KiB and by ``flush()``).
    static func line(_ bytes: [UInt8]) {
        stdoutBuffer.append(contentsOf: bytes)
        stdoutBuffer.append(0x0A)
        if stdoutBuffer.count >= 1 << 16 { flush() }
    }

    static func line(_ text: String) { line(Array(text.utf8)) }

    static func flush() {
        guard !stdoutBuffer.isEmpty else { return }
        stdoutBuffer.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(1, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
        stdoutBuffer.removeAll(keepingCapacity: true)
    }

    static func error(_ text: String) {
        flush()
        FileHandle.standardError.write(Data("stipple: \(text)\n".utf8))
    }

    static func progress(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static var stderrIsTerminal: Bool { isatty(2) == 1 }
}
