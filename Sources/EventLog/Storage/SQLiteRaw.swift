import GRDB
import GRDBSQLite

// Hot-path helpers over statements that GRDB prepared and caches.
//
// Appending, replaying and verifying touch every event; GRDB's `Row` and
// `StatementArguments` allocate per value (measured 3–4× slower on this path), so
// these loops bind and read columns with the C API directly, on statements GRDB owns.
// Every use resets the statement before returning it to GRDB.

/// SQLite must copy the bound bytes (`SQLITE_TRANSIENT`).
let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

extension OpaquePointer {
    /// Binds a blob (or NULL) without copying it (`SQLITE_STATIC`): the caller keeps
    /// the bytes alive until the statement has been stepped and reset.
    func bind(_ index: Int32, staticBlob blob: UnsafeRawBufferPointer?) {
        if let blob {
            sqlite3_bind_blob(self, index, blob.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(blob.count), nil)
        } else {
            sqlite3_bind_null(self, index)
        }
    }

    /// Binds text with its exact UTF-8 length (a copy is made).
    func bind(_ index: Int32, text: String) {
        var text = text
        text.withUTF8 { bytes in
            _ = sqlite3_bind_text(
                self, index, UnsafeRawPointer(bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self),
                Int32(bytes.count), sqliteTransient)
        }
    }

    func bind(_ index: Int32, int64 value: Int64) {
        sqlite3_bind_int64(self, index, value)
    }

    /// The bytes of blob column `index` (0-based), valid until the next step or reset.
    func blob(_ index: Int32) -> UnsafeRawBufferPointer {
        let count = Int(sqlite3_column_bytes(self, index))
        guard count > 0, let base = sqlite3_column_blob(self, index) else {
            return UnsafeRawBufferPointer(start: nil, count: 0)
        }
        return UnsafeRawBufferPointer(start: base, count: count)
    }

    func isNull(_ index: Int32) -> Bool {
        sqlite3_column_type(self, index) == SQLITE_NULL
    }

    func int64(_ index: Int32) -> Int64 {
        sqlite3_column_int64(self, index)
    }
}

extension Database {
    /// A `DatabaseError` for a raw result code, with the connection's message.
    func rawError(_ code: Int32, sql: String) -> DatabaseError {
        let message = sqliteConnection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: sql)
    }
}
