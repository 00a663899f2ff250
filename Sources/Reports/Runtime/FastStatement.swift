import GRDB
import GRDBSQLite

// The projections' hot path: a rebuild runs a few statements millions of times, and
// GRDB's `StatementArguments` allocates an array of `DatabaseValue` per call (measured:
// a third of a projection's time). These statements are GRDB's own cached ones, bound
// by position through the C API and reset before GRDB sees them again.

/// SQLite copies the bound bytes (`SQLITE_TRANSIENT`).
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A cached statement run with values bound by position.
struct FastStatement {
    let statement: Statement
    let sql: String

    init(_ db: Database, _ sql: String) throws {
        statement = try db.cachedStatement(sql: sql)
        self.sql = sql
    }

    /// Binds with `bind` (1-based positions), steps to the end, resets.
    ///
    /// - Throws: `DatabaseError` with SQLite's message when a step fails.
    func run(_ db: Database, _ bind: (Binder) -> Void) throws {
        let raw = statement.sqliteStatement
        defer {
            sqlite3_reset(raw)
            sqlite3_clear_bindings(raw)
        }
        bind(Binder(raw: raw))
        var code = sqlite3_step(raw)
        while code == SQLITE_ROW { code = sqlite3_step(raw) }
        guard code == SQLITE_DONE else {
            let message = db.sqliteConnection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: sql)
        }
    }

    /// Binds values to one statement by position.
    struct Binder {
        let raw: OpaquePointer

        func callAsFunction(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(raw, index, value) }
        func callAsFunction(_ index: Int32, _ value: Int) { sqlite3_bind_int64(raw, index, Int64(value)) }
        func callAsFunction(_ index: Int32, _ value: Bool) { sqlite3_bind_int64(raw, index, value ? 1 : 0) }

        func callAsFunction(_ index: Int32, _ value: Int?) {
            if let value { sqlite3_bind_int64(raw, index, Int64(value)) } else { sqlite3_bind_null(raw, index) }
        }

        func callAsFunction(_ index: Int32, _ text: String) {
            var text = text
            text.withUTF8 { bytes in
                _ = sqlite3_bind_text(
                    raw, index, UnsafeRawPointer(bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self),
                    Int32(bytes.count), transient)
            }
        }

        func callAsFunction(_ index: Int32, _ value: DatabaseValue) {
            switch value.storage {
            case .null: sqlite3_bind_null(raw, index)
            case .int64(let number): sqlite3_bind_int64(raw, index, number)
            case .double(let number): sqlite3_bind_double(raw, index, number)
            case .string(let text): self(index, text)
            case .blob(let data): self(index, blob: [UInt8](data))
            }
        }

        func callAsFunction(_ index: Int32, blob: [UInt8]) {
            blob.withUnsafeBytes { bytes in
                _ = sqlite3_bind_blob(raw, index, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(bytes.count), transient)
            }
        }
    }
}
