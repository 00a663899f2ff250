import Foundation

/// Recognises a Stipple log by its SQLite header, without opening it with SQLite (so a
/// file of another application is never touched, not even switched to WAL).
enum FileHeader {
    static func checkIsStippleLog(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw EventLogError.notAStippleLog(path: path, reason: "it cannot be opened for reading")
        }
        defer { try? handle.close() }
        let header = (try? handle.read(upToCount: 100)) ?? Data()
        if header.isEmpty {
            throw EventLogError.notAStippleLog(path: path, reason: "the file is empty")
        }
        guard header.count == 100, header.starts(with: Array("SQLite format 3\0".utf8)) else {
            throw EventLogError.notAStippleLog(path: path, reason: "it is not an SQLite database")
        }
        let bytes = Array(header)
        let applicationID = bytes[68..<72].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard applicationID == UInt32(LogSchema.applicationID) else {
            let reason = applicationID == 0
                ? "it is an SQLite database without Stipple's application id"
                : "it is an SQLite database of another application (application id 0x\(String(applicationID, radix: 16)))"
            throw EventLogError.notAStippleLog(path: path, reason: reason)
        }
    }
}
