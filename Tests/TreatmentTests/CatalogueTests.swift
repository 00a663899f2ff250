import Foundation
import SwiftProtobuf
import Testing
@testable import Treatment

@Suite("Event catalogue")
struct CatalogueTests {
    /// The message names declared in Schemas/, read from the .proto files themselves.
    static func declaredMessages() throws -> [String] {
        let schemas = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Schemas/stipple/v1").standardizedFileURL
        var names: [String] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: schemas.path) where file.hasSuffix(".proto") {
            let text = try String(contentsOf: schemas.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") where line.hasPrefix("message ") {
                names.append(String(line.dropFirst("message ".count).prefix { $0 != " " && $0 != "{" }))
            }
        }
        return names.sorted()
    }

    /// Messages that are parts of events, not events.
    static let parts: Set<String> = ["PigmentUse", "CartridgeUse"]

    @Test("every event message of Schemas/ is in the catalogue, and nothing else")
    func catalogueCoversSchemas() throws {
        let declared = try Self.declaredMessages().filter { !Self.parts.contains($0) && !$0.hasSuffix("Personal") }
        let catalogued = EventCatalogue.all.map { String(describing: $0.message).replacingOccurrences(of: "Stipple_V1_", with: "") }.sorted()
        #expect(catalogued == declared)
    }

    @Test("each type's versions run 1, 2, … without a gap")
    func versionsAreGapless() {
        for type in EventCatalogue.typeNames {
            let versions = EventCatalogue.all.filter { $0.type == type }.map(\.version)
            #expect(versions == Array(1...Int32(versions.count)), "\(type)")
        }
        #expect(EventCatalogue.newest(type: "SessionRecorded")?.version == 2)
    }

    @Test("an unknown type or version is refused, naming what exists")
    func unknownTypes() {
        #expect(throws: CatalogueError.unknownType("SessionPainted")) { try EventCatalogue.resolve(type: "SessionPainted", version: nil) }
        #expect(throws: CatalogueError.unknownVersion(type: "SessionRecorded", version: 3, newest: 2)) {
            try EventCatalogue.resolve(type: "SessionRecorded", version: 3)
        }
        #expect(CatalogueError.unknownType("X").description.contains("ClientRegistered"))
    }

    @Test("JSON goes to binary and back unchanged")
    func roundTrip() throws {
        let schema = try EventCatalogue.resolve(type: "SessionRecorded", version: nil)
        let json = #"""
            {"sessionNumber":2,"clinicId":"toronto","technicianId":"17","startedAt":"2026-03-14T12:00:00Z",
             "endedAt":"2026-03-14T15:30:00Z","areas":["SCALP_AREA_HAIRLINE","SCALP_AREA_CROWN"],
             "pigments":[{"lot":"PB-24-1187","brand":"Perma Blend","shade":"SMP Dark","expiry":"2027-05-31","dilutionPercent":30}],
             "cartridges":[{"lot":"NC-0412","manufacturer":"Kwadron","configuration":"NEEDLE_CONFIGURATION_3RL","diameterMm":0.25,"expiry":"2027-08-31"}],
             "depthMm":0.9,"aftercareSheetVersion":"v4","personal":{"photoRefs":["photo-1"]}}
            """#
        let binary = try PayloadCodec.binary(fromJSON: Array(json.utf8), schema: schema)
        #expect(binary.count < json.utf8.count / 2)
        let back = try PayloadCodec.json(fromBinary: binary, schema: schema)
        let again = try PayloadCodec.binary(fromJSON: back, schema: schema)
        #expect(again == binary)
        let message = try #require(try PayloadCodec.message(fromBinary: binary, schema: schema) as? Stipple_V1_SessionRecordedV2)
        #expect(message.pigments.first?.lot == "PB-24-1187")
        #expect(message.cartridges.first?.configuration == .needleConfiguration3Rl)
        #expect(message.startedAt.seconds == 1_773_489_600)
    }

    @Test("JSON that does not match the message is refused, naming the problem", arguments: [
        (#"{"sessionNumber":2,"colour":"red"}"#, #"unknown field "colour""#),
        (#"{"areas":["SCALP_AREA_EYEBROWS"]}"#, "not one of the field's enum values"),
        (#"{"startedAt":"yesterday"}"#, "not RFC 3339"),
        (#"{"sessionNumber":"two"}"#, "malformed"),
    ])
    func invalidJSON(json: String, reason: String) throws {
        let schema = try EventCatalogue.resolve(type: "SessionRecorded", version: 2)
        do {
            _ = try PayloadCodec.binary(fromJSON: Array(json.utf8), schema: schema)
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.description.contains("the data does not match SessionRecorded"))
            #expect(error.description.contains(reason), "\(error.description)")
        }
    }

    @Test("stream names map to their category")
    func categories() {
        #expect(StreamCategory(stream: "client-42") == .client)
        #expect(StreamCategory(stream: "batch-PB-24-1187") == .batch)
        #expect(StreamCategory(stream: "client-") == nil)
        #expect(StreamCategory(stream: "patient-1") == nil)
        #expect(EventCatalogue.newest(type: "ExposureIncidentRecorded")?.category == .incident)
    }
}
