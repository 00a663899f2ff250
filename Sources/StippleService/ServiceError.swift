import Discretion
import EventLog
import Foundation
import Reports
import Treatment

/// Every error a use case throws, with its kind: the one thing a front end needs to map it
/// (the CLI to an exit code, HTTP to a status), a sentence a person can act on, and the
/// structured facts behind it.
///
/// Errors of the libraries below (the log's, the rules', discretion's, the reports') are
/// classified here once, in ``ServiceError/init(_:)``; no front end switches over them.
public struct ServiceError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as a caller must react to it.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// The input is wrong (a field, a line, a value, a file that is not a log): fix it and retry.
        case badInput
        /// The thing named does not exist (a client, a lot, a clinic, a projection).
        case notFound
        /// The stream moved on meanwhile (a version conflict): read again and decide again.
        case conflict
        /// The domain's rules refused the command (every reason is in ``Detail/violations(_:line:)``).
        case refused
        /// No valid token, or a permission the user lacks; refusals about a client reveal nothing.
        case denied
        /// The system failed (disk full, damaged file, I/O): nothing the input can fix.
        case failure
    }

    /// The facts behind an error, for front ends that show more than the sentence.
    public enum Detail: Sendable, Hashable {
        case none
        /// The input line (of `do` or `append` input) the error is about.
        case line(Int)
        /// The argument the error is about, by its name in the use case (a user's `name`,
        /// `role` or `clinics`): a form shows the sentence next to that field.
        case field(String)
        /// The rules broken, each with its rule, field and message.
        case violations([RuleViolation], line: Int?)
        /// A version conflict: the stream, what the command expected and what it found.
        case conflict(stream: String, expected: ExpectedVersion, actual: Int64, line: Int?)
        /// Allowed once a purpose is given (a confidential client, or the whole log when it
        /// holds confidential clients).
        case purposeRequired(PurposeRequired)
        /// The permission that was missing.
        case denied(Permission)
        /// No valid token: none, a malformed, unknown or rotated one, a disabled user.
        case unauthenticated
        /// An idempotency key given again with another request.
        case idempotencyKeyReused
        /// A signed-in person's session sat idle past the lock: their password unlocks it.
        case locked(user: String)
        /// Too many failed sign-ins (for the user, or from the address): try again then.
        case throttled(retryAfterSeconds: Int)
    }

    /// What needs a purpose.
    public enum PurposeRequired: Sendable, Hashable {
        case client(String)
        case wholeLog
    }

    public var kind: Kind
    public var message: String
    public var detail: Detail

    public init(_ kind: Kind, _ message: String, detail: Detail = .none) {
        self.kind = kind
        self.message = message
        self.detail = detail
    }

    public var description: String { message }

    public static func badInput(_ message: String, line: Int? = nil) -> ServiceError {
        ServiceError(.badInput, message, detail: line.map { .line($0) } ?? .none)
    }

    public static func notFound(_ message: String) -> ServiceError { ServiceError(.notFound, message) }

    public static func failure(_ message: String) -> ServiceError { ServiceError(.failure, message) }

    /// A refusal that says nothing about the client or lot it concerns (the same words
    /// whether it exists, is at another clinic or is confidential).
    static func denied(_ denied: AccessDenied) -> ServiceError {
        ServiceError(.denied, "refused: " + denied.description + "; nothing was done", detail: .denied(denied.permission))
    }

    /// Classifies any error of the libraries below, keeping their words.
    public init(_ error: any Error) {
        switch error {
        case let error as ServiceError:
            self = error
        case let refusal as Refusal:
            self.init(.refused, refusal.description, detail: .violations(refusal.violations, line: nil))
        case let error as CatalogueError:
            self = .badInput(error.description)
        case let error as EventLogError:
            switch error {
            case .versionConflict(let stream, let expected, let actual):
                self.init(.conflict, error.description, detail: .conflict(stream: stream, expected: expected, actual: actual, line: nil))
            case .noLog, .notAStippleLog, .logFromNewerVersion, .eventIdReused, .invalidEvent, .tooLarge, .badDestination:
                self = .badInput(error.description)
            case .readOnly, .diskFull, .damaged, .corruptEvent, .database:
                self = .failure(error.description)
            }
        case let denied as AccessDenied:
            self = .denied(denied)
        case let error as UserError:
            switch error {
            case .noToken, .notAToken, .unknownToken, .disabled, .noUsers, .tampered:
                self.init(.denied, "refused: " + error.description, detail: .unauthenticated)
            case .userExists, .invalidName:
                self.init(.badInput, error.description, detail: .field("name"))
            case .clinicsRequired, .clinicsNotAllowed, .invalidClinic:
                self.init(.badInput, error.description, detail: .field("clinics"))
            case .lastAdmin, .accessUnchanged, .changeOfDisabled:
                self = .badInput(error.description)
            case .unknownUser:
                self.init(.notFound, error.description)
            }
        case let error as InviteError:
            self.init(.refused, error.description)
        case let error as PasswordError:
            switch error {
            case .wrongNameOrPassword: self.init(.denied, "refused: " + error.description, detail: .unauthenticated)
            case .wrongCurrentPassword: self.init(.denied, "refused: " + error.description)
            case .tooShort, .tooLong, .sameAsName, .controlCharacters: self = .badInput(error.description)
            }
        case let error as DiscretionError:
            switch error {
            case .clientErased: self.init(.refused, error.description + "; nothing was recorded")
            case .unsealedInput, .unsealedIncident: self = .badInput(error.description + "; nothing was recorded")
            default: self = .failure(error.description)
            }
        case let error as ReportsError:
            switch error {
            case .notFound: self.init(.notFound, error.description)
            case .unknownProjection, .invalidArgument: self = .badInput(error.description)
            case .undecodable, .notBuilt, .swapStarved, .rebuildReplaced, .rebuildRequired: self = .failure(error.description)
            }
        case is CancellationError:
            self = .failure("interrupted; run the command again to go on where it stopped")
        default:
            self = .failure(String(describing: error))
        }
    }

    /// The same error about input line `line`, worded as the line formats word it.
    func at(line: Int?, nothingWritten: String) -> ServiceError {
        guard let line else { return self }
        var located = self
        switch detail {
        case .violations(let violations, _):
            located.message = "line \(line): \(message)\n\(nothingWritten)"
            located.detail = .violations(violations, line: line)
        case .conflict(let stream, let expected, let actual, _):
            located.message = "line \(line): \(message) \(nothingWritten)"
            located.detail = .conflict(stream: stream, expected: expected, actual: actual, line: line)
        default:
            located.message = "line \(line): \(message) \(nothingWritten)"
            located.detail = .line(line)
        }
        return located
    }
}

/// Runs `body`, turning whatever it throws into a ``ServiceError``.
func classified<T>(_ body: () async throws -> T) async throws(ServiceError) -> T {
    do {
        return try await body()
    } catch {
        throw ServiceError(error)
    }
}
