import Foundation

/// A lot is its manufacturer and its number: two manufacturers may print the same number
/// ("PB-1187"), and a recall of one must not reach the other.
///
/// A lot's id, the id of its stream `batch-<id>`, is derived from both: the number, a
/// `~`, and the manufacturer as a slug (`PB-1187~perma-blend`). A lot received with no
/// manufacturer, and every lot received before lot identity, has the number alone as its
/// id (`batch-PB-1187`): those streams keep working, read as that lot with an unknown
/// manufacturer in its key (the receipt may still name one, and reports show it).
///
/// Procedures name a lot by number and manufacturer as printed; the recorder resolves
/// them to the lot's id and keeps it in the use (`batchID`), so every reader keys a use
/// by ``Stipple_V1_PigmentUse/lotID`` without knowing which lots existed when.
public enum LotIdentity {
    /// Between the number and the manufacturer's slug in an id; never in a lot number.
    public static let separator: Character = "~"

    /// The longest slug of a manufacturer's name in an id.
    public static let maximumSlugLength = 32

    /// The id of the lot `lot` of `manufacturer` (the number alone with no manufacturer).
    public static func id(lot: String, manufacturer: String) -> String {
        let slug = slug(manufacturer)
        return slug.isEmpty ? lot : lot + String(separator) + slug
    }

    /// The lot number of an id (the id itself for a lot with no manufacturer in its key).
    public static func number(of id: String) -> String {
        id.firstIndex(of: separator).map { String(id[..<$0]) } ?? id
    }

    /// How people read the lot `id`: its number, and the manufacturer of an id that names
    /// one, as its receipt spells it ("PB-1187 of Perma Blend").
    public static func label(_ id: String, received: Stipple_V1_BatchReceived? = nil) -> String {
        guard let separator = id.firstIndex(of: separator) else { return id }
        let named = received?.manufacturer ?? ""
        return number(of: id) + " of " + (named.isEmpty ? String(id[id.index(after: separator)...]) : named)
    }

    /// Whether `id` carries its manufacturer (`false` for a number alone).
    public static func namesManufacturer(_ id: String) -> Bool { id.contains(separator) }

    /// A manufacturer's name as it is in ids: lower-case ASCII letters and digits (accents
    /// dropped), every other run of characters one `-` ("Perma Blend" and "perma-blend" are
    /// one maker), at most ``maximumSlugLength`` characters. A name with no Latin letter or
    /// digit (e.g. in another script) gets `m` and a hash of its name instead, so that it
    /// still keeps its lots apart from other makers'.
    public static func slug(_ manufacturer: String) -> String {
        let folded = manufacturer.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil).lowercased()
        var slug = ""
        var pendingDash = false
        for byte in folded.utf8 {
            if (0x30...0x39).contains(byte) || (0x61...0x7A).contains(byte) {
                if pendingDash, !slug.isEmpty { slug.append("-") }
                pendingDash = false
                slug.append(Character(Unicode.Scalar(byte)))
            } else {
                pendingDash = true
            }
        }
        if slug.isEmpty, !manufacturer.allSatisfy({ $0.isWhitespace || $0.isPunctuation }) {
            // FNV-1a, 64 bits, of the name's UTF-8 (stable across runs, unlike `hashValue`).
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in manufacturer.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
            slug = "m" + String(hash, radix: 16)
        }
        if slug.count > maximumSlugLength {
            slug = String(slug.prefix(maximumSlugLength))
            while slug.hasSuffix("-") { slug.removeLast() }
        }
        return slug
    }

    /// Whether the lot `id`, received as `received`, may be `manufacturer`'s: by its id, or,
    /// for an id with no manufacturer, by the manufacturer its receipt names (any, when
    /// the receipt names none: an unknown manufacturer contradicts no one).
    public static func id(_ id: String, received: Stipple_V1_BatchReceived?, isOf manufacturer: String) -> Bool {
        if namesManufacturer(id) { return id == self.id(lot: number(of: id), manufacturer: manufacturer) }
        let known = slug(received?.manufacturer ?? "")
        return known.isEmpty || known == slug(manufacturer)
    }

    /// A lot found by what a clinician types: its number and, when two manufacturers
    /// share the number, its manufacturer.
    public enum Resolution: Equatable, Sendable {
        /// The lot's id.
        case found(String)
        /// No lot has the number: to the rules, a lot never received.
        case none
        /// Lots have the number, none of them the manufacturer named (their manufacturers).
        case notOf(String, received: [String])
        /// Lots of several manufacturers have the number, and none was named.
        case ambiguous([String])

        /// The id to key the lot by: the one found, else the id the typed values make.
        public func id(lot: String, manufacturer: String) -> String {
            if case .found(let id) = self { return id }
            return LotIdentity.id(lot: lot, manufacturer: manufacturer)
        }

        /// Why the lot cannot be used, for a refusal (`nil` when it was found or when the
        /// rules will say it was never received).
        public func problem(lot: String, manufacturer: String) -> String? {
            switch self {
            case .found, .none: return nil
            case .notOf(_, let received):
                return "lot \(lot) of \(manufacturer) was never received (lots numbered \(lot) came from \(received.joined(separator: ", ")))"
            case .ambiguous(let manufacturers):
                return "lot \(lot) was received from \(manufacturers.count) manufacturers (\(manufacturers.joined(separator: ", "))): name the one used"
            }
        }
    }

    /// Finds the lot `lot` (a number, or a lot's id) of `manufacturer` (empty: not named)
    /// among `candidates`, the lots numbered `lot` by id with their receipts.
    public static func resolve(
        lot: String, manufacturer: String, among candidates: [(id: String, received: Stipple_V1_BatchReceived?)]
    ) -> Resolution {
        if namesManufacturer(lot) { return .found(lot) }
        let numbered = candidates.filter { number(of: $0.id) == lot }
        guard !numbered.isEmpty else { return .none }
        if numbered.count == 1, manufacturer.isEmpty { return .found(numbered[0].id) }
        func maker(_ candidate: (id: String, received: Stipple_V1_BatchReceived?)) -> String {
            let named = candidate.received?.manufacturer ?? ""
            return named.isEmpty ? "an unknown manufacturer" : named
        }
        guard !manufacturer.isEmpty else { return .ambiguous(numbered.map(maker).sorted()) }
        // The lot whose id names the manufacturer first, then one whose receipt does.
        let exact = id(lot: lot, manufacturer: manufacturer)
        if numbered.contains(where: { $0.id == exact }) { return .found(exact) }
        let matching = numbered.filter { id($0.id, received: $0.received, isOf: manufacturer) }
        if matching.count == 1 { return .found(matching[0].id) }
        if matching.isEmpty { return .notOf(manufacturer, received: numbered.map(maker).sorted()) }
        return .ambiguous(matching.map(maker).sorted())
    }
}

extension Stipple_V1_PigmentUse {
    /// The lot used: its stream's id (the lot number for a use recorded before lot identity).
    public var lotID: String { batchID.isEmpty ? lot : batchID }
}

extension Stipple_V1_CartridgeUse {
    /// The lot used: its stream's id (the lot number for a use recorded before lot identity).
    public var lotID: String { batchID.isEmpty ? lot : batchID }
}
