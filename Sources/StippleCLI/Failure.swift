import ArgumentParser
import EventLog
import Foundation
import StippleService

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

        /// The exit code of an error kind.
        init(_ kind: ServiceError.Kind) {
            switch kind {
            case .failure: self = .failure
            case .badInput, .notFound: self = .badInput
            case .conflict: self = .conflict
            case .refused: self = .refused
            case .denied: self = .denied
            }
        }
    }

    var code: Code
    var message: String
    var description: String { message }

    static func badInput(_ message: String) -> Failure { Failure(code: .badInput, message: message) }

    /// Maps any error to its exit code (by its kind, see ``ServiceError``) and a sentence.
    static func from(_ error: any Error) -> Failure {
        switch error {
        case let failure as Failure: return failure
        case let error as ValidationError: return .badInput(error.message)
        default:
            let error = ServiceError(error)
            return Failure(code: Code(error.kind), message: words(error))
        }
    }

    /// The error's sentence, with the flag that answers it where the CLI has one.
    static func words(_ error: ServiceError) -> String {
        switch error.detail {
        case .purposeRequired(.client(let client)):
            return "refused: client \(client) is confidential: say why you look with --reason (it is kept in the access log)"
        case .purposeRequired(.wholeLog):
            return "refused: the log holds confidential clients: say why you read it all with --reason (it is kept in the access log)"
        default:
            return error.message
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
        ProgressPrinter.finishLine()
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
        ProgressPrinter.finishLine()
        FileHandle.standardError.write(Data("stipple: \(text)\n".utf8))
    }

    static func progress(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static var stderrIsTerminal: Bool { isatty(2) == 1 }
}

/// Commands that write a copy of the log (a backup, a report check) remove it when they
/// are interrupted by SIGINT or SIGTERM: a `defer` does not run then, and the copy would
/// stay beside its destination, holding the keys of clients erased later.
enum Interruption {
    /// `nonisolated(unsafe)`: set once, by the command's own task, before any signal can come.
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    static func removeScratchFilesOnSignal() {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                ScratchFiles.removeAll()
                FileHandle.standardError.write(Data("stipple: interrupted; the partial copy was removed\n".utf8))
                exit(128 + number)
            }
            source.resume()
            sources.append(source)
        }
    }
}
