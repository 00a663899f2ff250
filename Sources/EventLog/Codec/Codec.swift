import Crypto

/// How a payload's stored bytes are turned back into the payload.
///
/// Codec ids are stored with every event and never change meaning: the dictionary of
/// a codec is written once, in the `codecs` table, and the table refuses updates and
/// deletes. Ids 0 and 1 exist in every log; trained dictionaries get 2, 3, …
public struct Codec: Sendable, Hashable {
    /// How the codec encodes.
    public enum Kind: String, Sendable, Hashable {
        /// Stored as is (used when compression would not shrink the payload).
        case raw
        /// LZ4 block format, no dictionary.
        case lz4
        /// LZ4 block format with a preset dictionary stored in the `codecs` table.
        case lz4Dictionary = "lz4-dict"
    }

    /// The id stored in each event's `codec` column.
    public var id: Int32
    /// How it encodes.
    public var kind: Kind
    /// The preset dictionary (empty for `raw` and `lz4`).
    public var dictionary: [UInt8]
    /// SHA-256 of `dictionary`; part of every chain hash of an event using the codec.
    public var dictionarySHA256: [UInt8]

    /// The id of the raw codec.
    public static let rawID: Int32 = 0
    /// No payload is larger than this (the hard ceiling of
    /// ``EventLog/Limits/maxPayloadBytes``); a stored length above it is damage.
    public static let payloadCeiling = 64 << 20

    /// Metadata never decodes to more than this (the hard ceiling of
    /// ``EventLog/Limits/maxMetadataBytes``); its decoded length is not stored.
    public static let metadataCeiling = 64 * 1024

    /// The id of LZ4 without a dictionary.
    public static let plainLZ4ID: Int32 = 1

    init(id: Int32, kind: Kind, dictionary: [UInt8]) {
        self.id = id
        self.kind = kind
        self.dictionary = dictionary
        self.dictionarySHA256 = Array(SHA256.hash(data: dictionary))
    }
}
