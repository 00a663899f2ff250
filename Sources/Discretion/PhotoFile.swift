import Foundation

/// A photo as Stipple stores it: a JPEG or a PNG (known by its first bytes, not by a name
/// or a declared type), at most ``maximumBytes``, with every metadata block a camera or an
/// editor writes stripped — EXIF (with GPS, the device, the time), XMP, comments, PNG text
/// and time chunks, bytes after the image's end. What renders the image is kept: a JPEG's
/// tables and scans, its JFIF and Adobe blocks and its ICC colour profile, the EXIF
/// orientation alone (so a tablet's portrait photo is not shown on its side); a PNG's
/// critical chunks and its colour and transparency chunks.
///
/// Hand-written: no image library is among the machine's packages, and both formats'
/// block structure is a few lines; the pixels themselves are never decoded.
public struct PhotoFile: Sendable, Hashable {
    /// 10 MiB: a tablet's full-resolution photo is 2–6 MiB.
    public static let maximumBytes = 10 << 20

    public enum Format: String, Sendable {
        case jpeg = "image/jpeg"
        case png = "image/png"
    }

    public let format: Format
    /// The image with its metadata stripped.
    public let bytes: [UInt8]

    /// Why bytes are not a photo Stipple keeps.
    public struct Refused: Error, Sendable, Hashable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Reads and strips `bytes`.
    ///
    /// - Throws: ``Refused`` naming the reason: empty, too large, neither JPEG nor PNG, or
    ///   cut short.
    public init(_ bytes: [UInt8]) throws(Refused) {
        if bytes.isEmpty { throw Refused("the photo is empty") }
        if bytes.count > Self.maximumBytes {
            throw Refused("the photo is \(Self.megabytes(bytes.count)) MiB: at most \(Self.maximumBytes >> 20) MiB is kept (send it at a lower resolution)")
        }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
            format = .jpeg
            self.bytes = try Self.strippedJPEG(bytes)
        } else if bytes.starts(with: Self.pngSignature) {
            format = .png
            self.bytes = try Self.strippedPNG(bytes)
        } else {
            throw Refused("a photo must be a JPEG or a PNG image, and its first bytes say it is neither")
        }
    }

    static func megabytes(_ count: Int) -> String { String(format: "%.1f", Double(count) / Double(1 << 20)) }

    // MARK: - JPEG

    /// Segments kept: JFIF (APP0), Adobe (APP14, it says how colours are stored), the ICC
    /// profile (APP2 `ICC_PROFILE`) and every non-APP segment but comments.
    static func keeps(_ marker: UInt8, _ data: ArraySlice<UInt8>) -> Bool {
        switch marker {
        case 0xE0, 0xEE: return true
        case 0xE2: return data.starts(with: Array("ICC_PROFILE\0".utf8))
        case 0xE1, 0xE3...0xED, 0xEF, 0xFE: return false
        default: return true
        }
    }

    static func strippedJPEG(_ bytes: [UInt8]) throws(Refused) -> [UInt8] {
        let cut = Refused("the JPEG image is cut short or damaged")
        var out: [UInt8] = [0xFF, 0xD8]
        out.reserveCapacity(bytes.count)
        var orientation: UInt16?
        var afterAPP0 = 2
        var i = 2
        var scanned = false
        while true {
            guard i < bytes.count, bytes[i] == 0xFF else { throw cut }
            while i < bytes.count, bytes[i] == 0xFF { i += 1 }  // fill bytes
            guard i < bytes.count else { throw cut }
            let marker = bytes[i]
            i += 1
            if marker == 0xD9 {  // end of image: anything after it is dropped
                guard scanned else { throw Refused("the JPEG file holds no image") }
                out += [0xFF, 0xD9]
                break
            }
            if (0xD0...0xD7).contains(marker) || marker == 0x01 {
                out += [0xFF, marker]
                continue
            }
            guard i + 2 <= bytes.count else { throw cut }
            let length = Int(bytes[i]) << 8 | Int(bytes[i + 1])
            guard length >= 2, i + length <= bytes.count else { throw cut }
            let data = bytes[(i + 2)..<(i + length)]
            if marker == 0xE1, data.starts(with: Array("Exif\0\0".utf8)) {
                orientation = Self.orientation(inTIFF: Array(data.dropFirst(6))) ?? orientation
            }
            if keeps(marker, data) {
                out += [0xFF, marker]
                out += bytes[i..<(i + length)]
                if marker == 0xE0, afterAPP0 == 2 { afterAPP0 = out.count }
            }
            i += length
            guard marker == 0xDA else { continue }
            // Entropy-coded data of a scan: up to the next marker that is not a stuffed
            // byte (FF 00), a restart (FF D0–D7) or fill.
            scanned = true
            let start = i
            while i + 1 < bytes.count {
                if bytes[i] == 0xFF {
                    let next = bytes[i + 1]
                    if next == 0x00 || (0xD0...0xD7).contains(next) { i += 2; continue }
                    if next != 0xFF { break }
                }
                i += 1
            }
            guard i + 1 < bytes.count else { throw cut }
            out += bytes[start..<i]
        }
        if let orientation, orientation != 1 {
            out.insert(contentsOf: Self.orientationSegment(orientation), at: afterAPP0)
        }
        return out
    }

    /// The orientation (1–8) in an EXIF block's TIFF structure (IFD0, tag 0x0112), if any.
    static func orientation(inTIFF tiff: [UInt8]) -> UInt16? {
        guard tiff.count >= 8 else { return nil }
        let little = tiff[0] == 0x49 && tiff[1] == 0x49
        guard little || (tiff[0] == 0x4D && tiff[1] == 0x4D) else { return nil }
        func u16(_ at: Int) -> Int? {
            guard at >= 0, at + 2 <= tiff.count else { return nil }
            return little ? Int(tiff[at]) | Int(tiff[at + 1]) << 8 : Int(tiff[at]) << 8 | Int(tiff[at + 1])
        }
        func u32(_ at: Int) -> Int? {
            guard let high = u16(little ? at + 2 : at), let low = u16(little ? at : at + 2) else { return nil }
            return high << 16 | low
        }
        guard let ifd = u32(4), let count = u16(ifd) else { return nil }
        for entry in 0..<min(count, 256) {
            let at = ifd + 2 + entry * 12
            guard let tag = u16(at), let type = u16(at + 2) else { return nil }
            if tag == 0x0112, type == 3, let value = u16(at + 8), (1...8).contains(value) { return UInt16(value) }
        }
        return nil
    }

    /// An APP1 block holding an EXIF structure with the orientation alone.
    static func orientationSegment(_ orientation: UInt16) -> [UInt8] {
        let tiff: [UInt8] = [0x4D, 0x4D, 0x00, 0x2A, 0, 0, 0, 8,  // big-endian, IFD0 at 8
                             0, 1,  // one entry
                             0x01, 0x12, 0, 3, 0, 0, 0, 1, UInt8(orientation >> 8), UInt8(orientation & 0xFF), 0, 0,
                             0, 0, 0, 0]  // no next IFD
        let data = Array("Exif\0\0".utf8) + tiff
        let length = data.count + 2
        return [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + data
    }

    // MARK: - PNG

    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Ancillary chunks kept (colour, transparency, pixel size); text (`tEXt`, `zTXt`,
    /// `iTXt`), `tIME`, `eXIf` and any other ancillary chunk are dropped.
    static let keptAncillaryChunks: Set<String> = ["tRNS", "cHRM", "gAMA", "iCCP", "sBIT", "sRGB", "bKGD", "pHYs", "hIST", "sPLT", "cICP"]

    static func strippedPNG(_ bytes: [UInt8]) throws(Refused) -> [UInt8] {
        var out = pngSignature
        out.reserveCapacity(bytes.count)
        var i = pngSignature.count
        var first = true
        while i + 12 <= bytes.count {
            let length = Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            guard i + 12 + length <= bytes.count else { break }
            let type = String(decoding: bytes[(i + 4)..<(i + 8)], as: UTF8.self)
            if first, type != "IHDR" { throw Refused("the PNG image is damaged: it does not start with its header") }
            first = false
            // A chunk type's first letter is upper case for the critical ones.
            let critical = bytes[i + 4] & 0x20 == 0
            if critical || keptAncillaryChunks.contains(type) { out += bytes[i..<(i + 12 + length)] }
            i += 12 + length
            if type == "IEND" { return out }
        }
        throw Refused("the PNG image is cut short or damaged")
    }
}
