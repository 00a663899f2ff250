import Foundation

/// A stream or type name, compared and hashed by its UTF-8 bytes, as SQLite compares it.
///
/// Swift's `String` equality is Unicode canonical equivalence ("é" precomposed equals
/// "e" followed by a combining accent), while SQLite's UNIQUE index compares bytes; the
/// writer's caches must agree with the database, so they key names by bytes.
struct NameKey: Hashable {
    let name: String

    init(_ name: String) { self.name = name }

    static func == (lhs: NameKey, rhs: NameKey) -> Bool {
        lhs.name.sameBytes(as: rhs.name)
    }

    func hash(into hasher: inout Hasher) {
        var name = name
        name.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

extension String {
    /// Equal as bytes (not by Unicode equivalence). A `memcmp` of the two UTF-8 buffers:
    /// `UTF8View.elementsEqual` walks byte by byte and showed in the append profile.
    func sameBytes(as other: String) -> Bool {
        var lhs = self
        var rhs = other
        return lhs.withUTF8 { left in
            rhs.withUTF8 { right in
                left.count == right.count
                    && (left.count == 0 || memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0)
            }
        }
    }
}
