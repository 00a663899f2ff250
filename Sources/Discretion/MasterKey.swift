import Crypto
import Foundation

/// The chain's master key: wraps each client's key and keys the pseudonyms. It lives in
/// a file outside the database (`STIPPLE_MASTER_KEY_FILE`, default `./stipple.key`), that
/// only its owner may read; losing it loses every client's personal data.
///
/// The file is text: a first line `stipple-master-key v1` and the 32 key bytes in base64.
public struct MasterKey: Sendable {
    /// The file's first line.
    static let header = "stipple-master-key v1"

    let key: SymmetricKey

    init(key: SymmetricKey) { self.key = key }

    /// A new random key written to `path`, readable by its owner only (mode 0600).
    ///
    /// - Throws: ``DiscretionError/masterKeyExists(path:)`` (a file is never overwritten),
    ///   or the file system's error.
    package static func create(at path: String) throws -> MasterKey {
        let key = SymmetricKey(size: .bits256)
        let text = header + "\n" + key.withUnsafeBytes { Data($0).base64EncodedString() } + "\n"
        // O_EXCL: never replace a key; 0600 from the start, not after a chmod.
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            if errno == EEXIST { throw DiscretionError.masterKeyExists(path: path) }
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: String(cString: strerror(errno))])
        }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(descriptor) == 0 else {
            unlink(path)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        return MasterKey(key: key)
    }

    /// The key in `path`, refused when group or others may read or write the file.
    ///
    /// - Throws: ``DiscretionError/noMasterKey(path:)``,
    ///   ``DiscretionError/keyFileTooOpen(path:mode:)``,
    ///   ``DiscretionError/malformedKeyFile(path:reason:)``.
    package static func load(from path: String) throws -> MasterKey {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw DiscretionError.noMasterKey(path: path) }
        // A link could point at a key someone else planted (or reads): only a plain file of
        // the user running Stipple is a master key.
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw DiscretionError.malformedKeyFile(path: path, reason: "it is a symbolic link or not a plain file; give the key file itself")
        }
        guard info.st_uid == geteuid() else {
            throw DiscretionError.malformedKeyFile(path: path, reason: "it belongs to another user (uid \(info.st_uid)); Stipple uses only a key file of the user it runs as")
        }
        let permissions = info.st_mode & 0o777
        guard permissions & 0o077 == 0 else {
            throw DiscretionError.keyFileTooOpen(path: path, mode: String(permissions, radix: 8))
        }
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW)
        guard descriptor >= 0 else { throw DiscretionError.malformedKeyFile(path: path, reason: "it cannot be opened: \(String(cString: strerror(errno)))") }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        guard let data = try? handle.readToEnd(), let text = String(data: data, encoding: .utf8) else {
            throw DiscretionError.malformedKeyFile(path: path, reason: "it cannot be read as text")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard lines.count == 2, lines[0] == header else {
            throw DiscretionError.malformedKeyFile(path: path, reason: "its first line is not \"\(header)\"")
        }
        guard let bytes = Data(base64Encoded: lines[1]), bytes.count == 32 else {
            throw DiscretionError.malformedKeyFile(path: path, reason: "the key is not 32 bytes of base64")
        }
        return MasterKey(key: SymmetricKey(data: bytes))
    }

    /// A key for one purpose, derived from the master key (HKDF-SHA256), so that no two
    /// uses share a key.
    func subkey(_ purpose: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Array(("stipple " + purpose).utf8), outputByteCount: 32)
    }

    /// A value that identifies the key without revealing it (stored beside the client keys,
    /// so that a wrong key file is recognised before it is used).
    public var check: String {
        Data(HMAC<SHA256>.authenticationCode(for: Array("stipple master key check".utf8), using: subkey("check"))).base64EncodedString()
    }
}
