/// A stream or type name, compared and hashed by its UTF-8 bytes, as SQLite compares it.
///
/// Swift's `String` equality is Unicode canonical equivalence ("é" precomposed equals
/// "e" followed by a combining accent), while SQLite's UNIQUE index compares bytes; the
/// writer's caches must agree with the database, so they key names by bytes.
struct NameKey: Hashable {
    let name: String

    init(_ name: String) { self.name = name }

    static func == (lhs: NameKey, rhs: NameKey) -> Bool {
        lhs.name.utf8.elementsEqual(rhs.name.utf8)
    }

    func hash(into hasher: inout Hasher) {
        var name = name
        name.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

extension String {
    /// Equal as bytes (not by Unicode equivalence).
    func sameBytes(as other: String) -> Bool {
        utf8.elementsEqual(other.utf8)
    }
}
