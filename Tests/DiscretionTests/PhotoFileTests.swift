import Discretion
import Foundation
import StippleTesting
import Testing

@Suite("Photos are JPEG or PNG, their metadata stripped")
struct PhotoFileTests {
    static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= bytes.count else { return false }
        return (0...(bytes.count - needle.count)).contains { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    @Test("a JPEG keeps its image, tables and orientation; EXIF, GPS, XMP, comments and a trailer go")
    func jpeg() throws {
        let pixels = TestPhotos.pattern(1)
        let photo = try PhotoFile(TestPhotos.jpeg(pixels: pixels))
        #expect(photo.format == .jpeg)
        #expect(Self.contains(photo.bytes, pixels + [0xFF, 0x00] + pixels))
        #expect(!Self.contains(photo.bytes, TestPhotos.gpsText))
        #expect(!Self.contains(photo.bytes, TestPhotos.comment))
        #expect(!Self.contains(photo.bytes, TestPhotos.trailer))
        #expect(!Self.contains(photo.bytes, Array("http://ns.adobe.com".utf8)))
        #expect(Array(photo.bytes.suffix(2)) == [0xFF, 0xD9])
        #expect(Self.contains(photo.bytes, Array("JFIF\0".utf8)))
        // The orientation alone stays, in an EXIF block of its own (big-endian, value 6).
        #expect(Self.contains(photo.bytes, Array("Exif\0\0".utf8) + [0x4D, 0x4D]))
        #expect(Self.contains(photo.bytes, [0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6]))
        // Stripping is stable: a stripped photo strips to itself.
        #expect(try PhotoFile(photo.bytes).bytes == photo.bytes)
        // An upright photo needs no orientation block.
        #expect(!Self.contains(try PhotoFile(TestPhotos.jpeg(pixels: pixels, orientation: 1)).bytes, Array("Exif".utf8)))
    }

    @Test("a PNG keeps its header, colour and image chunks; text and time chunks go")
    func png() throws {
        let pixels = TestPhotos.pattern(2)
        let photo = try PhotoFile(TestPhotos.png(pixels: pixels))
        #expect(photo.format == .png)
        #expect(Self.contains(photo.bytes, pixels))
        #expect(Self.contains(photo.bytes, Array("sRGB".utf8)))
        #expect(!Self.contains(photo.bytes, TestPhotos.gpsText))
        #expect(!Self.contains(photo.bytes, Array("tIME".utf8)))
        #expect(Array(photo.bytes.suffix(8).prefix(4)) == Array("IEND".utf8))
    }

    @Test("bytes that are no photo, too many or cut short are refused with the reason")
    func refusals() {
        func reason(_ bytes: [UInt8]) -> String? {
            do {
                _ = try PhotoFile(bytes)
                return nil
            } catch {
                return error.description
            }
        }
        #expect(reason([]) == "the photo is empty")
        #expect(reason(Array("GIF89a....".utf8)) == "a photo must be a JPEG or a PNG image, and its first bytes say it is neither")
        #expect(reason(Array("<svg onload=alert(1)>".utf8)) == "a photo must be a JPEG or a PNG image, and its first bytes say it is neither")
        let jpeg = TestPhotos.jpeg(pixels: TestPhotos.pattern(3))
        #expect(reason(Array(jpeg.prefix(60))) == "the JPEG image is cut short or damaged")
        #expect(reason([0xFF, 0xD8, 0xFF, 0xD9]) == "the JPEG file holds no image")
        let png = TestPhotos.png(pixels: TestPhotos.pattern(4))
        #expect(reason(Array(png.dropLast(12))) == "the PNG image is cut short or damaged")
        #expect(reason([0xFF, 0xD8, 0xFF] + [UInt8](repeating: 0, count: PhotoFile.maximumBytes))
            == "the photo is 10.0 MiB: at most 10 MiB is kept (send it at a lower resolution)")
    }
}
