import Foundation

/// Photo files for tests, built block by block: what a camera writes around the image
/// (EXIF with GPS and an orientation, comments, XMP, PNG text and time, bytes after the
/// end) and an image body holding a unique pattern, to look for in the files afterwards.
/// The pixels are never decoded, so the image data is the pattern, not a real picture.
public enum TestPhotos {
    /// Bytes no metadata and no sealed value would hold by chance (no 0xFF in them).
    public static func pattern(_ seed: UInt8) -> [UInt8] {
        Array("STIPPLE-PIXELS-\(seed)-".utf8) + (0..<64).map { UInt8(($0 * 37 + Int(seed)) % 250) }
    }

    public static let gpsText = Array("GPS 43.6532N 79.3832W iPad Pro".utf8)
    public static let comment = Array("taken by dr-lee at the chair".utf8)
    public static let trailer = Array("TRAILING-SECRET".utf8)

    static func segment(_ marker: UInt8, _ data: [UInt8]) -> [UInt8] {
        let length = data.count + 2
        return [0xFF, marker, UInt8(length >> 8), UInt8(length & 0xFF)] + data
    }

    /// A JPEG: JFIF, an EXIF block (orientation 6, then the GPS text), a comment, an XMP
    /// block, the tables, one scan whose data is `pixels`, the end, and a trailer.
    public static func jpeg(pixels: [UInt8], orientation: UInt16 = 6) -> [UInt8] {
        let tiff: [UInt8] = [0x49, 0x49, 0x2A, 0x00, 8, 0, 0, 0,  // little-endian, IFD0 at 8
                             1, 0,  // one entry
                             0x12, 0x01, 3, 0, 1, 0, 0, 0, UInt8(orientation & 0xFF), UInt8(orientation >> 8), 0, 0,
                             0, 0, 0, 0]
        var bytes: [UInt8] = [0xFF, 0xD8]
        bytes += segment(0xE0, Array("JFIF\0".utf8) + [1, 1, 0, 0, 1, 0, 1, 0, 0])
        bytes += segment(0xE1, Array("Exif\0\0".utf8) + tiff + gpsText)
        bytes += segment(0xFE, comment)
        bytes += segment(0xE1, Array("http://ns.adobe.com/xap/1.0/\0".utf8) + gpsText)
        bytes += segment(0xDB, [0] + [UInt8](repeating: 1, count: 64))
        bytes += segment(0xC0, [8, 0, 16, 0, 16, 1, 1, 0x11, 0])
        bytes += segment(0xC4, [0] + [UInt8](repeating: 0, count: 15) + [1])
        bytes += segment(0xDA, [1, 1, 0, 0, 63, 0])
        bytes += pixels + [0xFF, 0x00] + pixels  // a stuffed 0xFF inside the scan
        bytes += [0xFF, 0xD9] + trailer
        return bytes
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let length = UInt32(data.count)
        // The CRC is not checked by the stripping; zeros keep the builder short.
        return withUnsafeBytes(of: length.bigEndian) { Array($0) } + Array(type.utf8) + data + [0, 0, 0, 0]
    }

    /// A PNG: its header, a text chunk (the GPS text), a time chunk, the colour chunk
    /// sRGB, the image data (`pixels`) and the end.
    public static func png(pixels: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        bytes += chunk("IHDR", [0, 0, 0, 16, 0, 0, 0, 16, 8, 2, 0, 0, 0])
        bytes += chunk("tEXt", Array("Comment\0".utf8) + gpsText)
        bytes += chunk("tIME", [0x07, 0xEA, 12, 1, 10, 0, 0])
        bytes += chunk("sRGB", [0])
        bytes += chunk("IDAT", pixels)
        bytes += chunk("IEND", [])
        return bytes
    }
}
