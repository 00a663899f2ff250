import Foundation
import GRDB
import Recording
import StippleService
import StippleTesting
import Testing

/// Clients' photos through the application layer: the photo consent, the client's own
/// records, the sealed bytes never in clear in the files, the access logged, erasure.
@Suite("Photos: sealed, consented, logged, erased")
struct PhotoTests {
    static let photoConsent = #"{"command":"record","stream":"client-42","type":"ConsentSigned","data":{"formId":"smp-consent","formVersion":"v4","signedAt":"2026-02-21T10:00:00Z","coversPhotos":true}}"#
    static let consultation = #"{"command":"record","stream":"client-42","type":"ConsultationRecorded","data":{"clinicId":"toronto","consultantId":"17","consultedAt":"2026-02-21T10:30:00Z","hairLossType":"HAIR_LOSS_TYPE_ANDROGENETIC","norwoodStage":"IV","fitzpatrickType":3,"estimatedSessions":3}}"#

    /// Client 42's consultation (recorded for the test), with or without a photo consent first.
    static func consulted(_ chain: TestChain, photoConsent: Bool) async throws -> String {
        if photoConsent { _ = try await chain.record(Self.photoConsent) }
        let recorded = try await chain.record(Self.consultation)
        return recorded.events[0].id.uuidString
    }

    @Test("without a consent covering photos, or on a record that is not the client's consultation or procedure, nothing is written")
    func refusals() async throws {
        let chain = try await TestChain.make()
        let consultation = try await Self.consulted(chain, photoConsent: false)
        let clinician = try await chain.session(.clinician)
        let jpeg = TestPhotos.jpeg(pixels: TestPhotos.pattern(7))
        let head = try await chain.head()
        let noConsent = await serviceError({ _ = try await clinician.addPhoto(client: "42", to: consultation, moment: .before, bytes: jpeg) })
        #expect(noConsent?.kind == .refused)
        #expect(noConsent?.message.contains("photo-consent") == true, "\(noConsent?.message ?? "")")
        _ = try await chain.record(Self.photoConsent)
        let afterConsent = try await chain.head()
        // The registration is no consultation or procedure; another client's event is none of 42's.
        let registration = await serviceError({
            _ = try await clinician.addPhoto(client: "42", to: TestChain.registrationOf42.uuidString, moment: .before, bytes: jpeg)
        })
        #expect(registration?.message.contains("a photo belongs to a consultation, a session, a touch-up or an adverse reaction, not to a ClientRegistered") == true)
        let elsewhere = await serviceError({ _ = try await clinician.addPhoto(client: "42", to: UUID().uuidString, moment: .after, bytes: jpeg) })
        #expect(elsewhere?.message.contains("is not an event of this client") == true)
        let notAPhoto = await serviceError({ _ = try await clinician.addPhoto(client: "42", to: consultation, moment: .before, bytes: Array("GIF89a".utf8)) })
        #expect(notAPhoto?.kind == .badInput)
        #expect(notAPhoto?.message == "a photo must be a JPEG or a PNG image, and its first bytes say it is neither. Nothing was recorded.")
        // A Brampton clinician may not record on a Toronto client (told nothing about it).
        let brampton = try await chain.session(.bramptonClinician)
        #expect(await serviceError({ _ = try await brampton.addPhoto(client: "42", to: consultation, moment: .before, bytes: jpeg) })?.kind == .denied)
        #expect(try await chain.head() == afterConsent)
        #expect(afterConsent != head)
    }

    @Test("a signature image belongs to the client's consent and needs no photo consent; a photo may not go on a consent, nor a signature elsewhere")
    func signature() async throws {
        let chain = try await TestChain.make()
        let consultation = try await Self.consulted(chain, photoConsent: false)
        let consent = try await chain.record(#"{"command":"record","stream":"client-42","type":"ConsentSigned","data":{"formId":"smp-consent","formVersion":"v4","signedAt":"2026-02-21T10:00:00Z"}}"#)
        let consentID = consent.events[0].id.uuidString
        let clinician = try await chain.session(.clinician)
        let png = TestPhotos.png(pixels: TestPhotos.pattern(5))
        let head = try await chain.head()
        let photoOnConsent = await serviceError({ _ = try await clinician.addPhoto(client: "42", to: consentID, moment: .before, bytes: png) })
        #expect(photoOnConsent?.message.contains("an image attached to a consent is its signature (moment signature), not a photo of the client") == true,
                "\(photoOnConsent?.message ?? "")")
        let signatureElsewhere = await serviceError({ _ = try await clinician.addPhoto(client: "42", to: consultation, moment: .signature, bytes: png) })
        #expect(signatureElsewhere?.message.contains("a signature belongs to a consent (ConsentSigned), not to a ConsultationRecorded") == true)
        #expect(try await chain.head() == head)

        #expect(try await clinician.addPhoto(client: "42", to: consentID, moment: .signature, bytes: png).events.count == 1)
        let details: [String] = try await clinician.history(client: "42").sections[0].column("details").map(\.description)
        let line = try #require(details.first { $0.hasPrefix("signature image, image/png") })
        let sha256 = String(try #require(line.components(separatedBy: "sha256 ").last).prefix(64))
        let shown = try await clinician.photo(client: "42", sha256: sha256, purpose: nil)
        #expect(shown.photo.mediaType == "image/png")
        #expect(ErasureTests.count(Data(TestPhotos.pattern(5)), in: ErasureTests.fileBytes(chain.databasePath)) == 0, "the signature is sealed")
    }

    @Test("a photo round-trips stripped, its pixels never in clear in the file or its WAL, its reads logged; erasure deletes it")
    func roundTrip() async throws {
        let chain = try await TestChain.make()
        let consultation = try await Self.consulted(chain, photoConsent: true)
        let clinician = try await chain.session(.clinician)
        let pixels = TestPhotos.pattern(9)
        let recorded = try await clinician.addPhoto(client: "42", to: consultation, moment: .before, bytes: TestPhotos.jpeg(pixels: pixels))
        #expect(recorded.events.count == 1)
        let history = try await clinician.history(client: "42")
        let details: [String] = history.sections[0].column("details").map(\.description)
        let line = try #require(details.first { $0.hasPrefix("photo (before), image/jpeg") })
        let words = line.components(separatedBy: "sha256 ")
        let sha256 = String(try #require(words.last).prefix(64))
        #expect(sha256.count == 64)
        let consultationPosition = try #require(history.sections[0].rows.first { $0[3] == .text("ConsultationRecorded") }?[0])
        #expect(line.hasSuffix("; of event \(consultationPosition)"), "\(line)")
        #expect(try await chain.record(Self.consultation).events.count == 1)

        let shown = try await clinician.photo(client: "42", sha256: sha256, purpose: nil)
        #expect(shown.bytes.count < TestPhotos.jpeg(pixels: pixels).count, "stripped")
        #expect(ErasureTests.count(Data(pixels + [0xFF, 0x00] + pixels), in: Data(shown.bytes)) == 1)
        #expect(shown.photo.mediaType == "image/jpeg")
        let files = ErasureTests.fileBytes(chain.databasePath)
        #expect(ErasureTests.count(Data(pixels), in: files) == 0, "the pixels are sealed")
        #expect(ErasureTests.count(Data(TestPhotos.gpsText), in: files) == 0)
        // The read is in the access log, under its own name.
        let access = try await chain.session(.admin).report(.access(client: "42"))
        #expect(access.sections[0].column("command").contains(.text("client photo")))
        // Not another client's photo by its hash, nor for a clinician of another clinic.
        let accesses = try await chain.session(.admin).report(.access(client: "44")).sections[0].rows.count
        #expect(await serviceError({ _ = try await clinician.photo(client: "44", sha256: sha256, purpose: "follow-up") })?.kind == .notFound)
        #expect(await serviceError({ _ = try await clinician.photo(client: "42", sha256: String(repeating: "0", count: 64)) })?.kind == .notFound)
        #expect(try await chain.session(.admin).report(.access(client: "44")).sections[0].rows.count == accesses, "a photo nobody received logs no access")
        #expect(await serviceError({ _ = try await chain.session(.bramptonClinician).photo(client: "42", sha256: sha256) })?.kind == .denied)

        // The person's export holds the photo itself.
        let export = try await chain.session(.admin).export(client: "42", purpose: "subject access request")
        let exported = try #require(export.objectValue?["photos"]?.arrayValue?.first?.objectValue)
        #expect(exported["sha256"] == .string(sha256))
        #expect(exported["base64"]?.stringValue.flatMap { Data(base64Encoded: $0) } == Data(shown.bytes))
        // A photo's bytes altered beside the log: verify names it.
        #expect(try await chain.session(.admin).verify().photoMismatches.isEmpty)
        let queue = try DatabaseQueue(path: chain.databasePath)
        try await queue.write { db in try db.execute(sql: "UPDATE attachments SET sealed = zeroblob(64)") }
        try queue.close()
        let altered = try await chain.session(.admin).verify()
        #expect(!altered.isIntact)
        #expect(altered.photoMismatches == ["the photo \(sha256) of client 42 is not the one its event names: its stored bytes were altered"])

        _ = try await chain.session(.admin).erase(client: "42", reason: "erasure request")
        let erased = await serviceError({ _ = try await chain.session(.admin).photo(client: "42", sha256: sha256) })
        #expect(erased?.message == "client 42's personal data was erased: their photos are gone")
        let afterErasure = ErasureTests.fileBytes(chain.databasePath)
        #expect(ErasureTests.count(Data(pixels), in: afterErasure) == 0)
        #expect(try await chain.session(.admin).verify().isIntact)
    }
}
