// swift-tools-version:6.1
// Stipple — an event-sourced treatment record for scalp-micropigmentation clinics.
import PackageDescription

let package = Package(
    name: "Stipple",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "EventLog", targets: ["EventLog"]),
        .library(name: "Treatment", targets: ["Treatment"]),
        .library(name: "Recording", targets: ["Recording"]),
        .library(name: "Reports", targets: ["Reports"]),
        .library(name: "Discretion", targets: ["Discretion"]),
        .library(name: "StippleService", targets: ["StippleService"]),
        .library(name: "StippleTesting", targets: ["StippleTesting"]),
        .executable(name: "stipple", targets: ["StippleCLI"]),
        .executable(name: "stipple-bench", targets: ["StippleBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        // liblz4 from Debian (`liblz4-dev`): a module map and nothing else.
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),
        // The domain-agnostic store: append, read, codecs, hash chain, verify.
        // The only module that imports CLZ4; Reports uses GRDB for its own tables.
        .target(
            name: "EventLog",
            dependencies: [
                "CLZ4",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The SMP domain: event schemas (generated from Schemas/), catalogue, rules. Pure:
        // no SQLite, no clock, no I/O.
        .target(
            name: "Treatment",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["Generated/README.md"]
        ),
        // Records domain commands: reads the streams a command touches inside the write
        // transaction, decides with Treatment's rules, appends with EventLog.
        .target(
            name: "Recording",
            dependencies: [
                "EventLog", "Treatment", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                // The SHA-256 of a consent form's text, pinned in every consent signed on it.
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Read models: projections kept in the log's file, their runtime (checkpoints,
        // catch-up, blue/green rebuilds) and the reports that read them.
        .target(
            name: "Reports",
            dependencies: [
                "EventLog", "Treatment", "Recording",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Discretion: master and client keys, sealing of personal data, pseudonyms, access
        // tokens and the roles' grants.
        .target(
            name: "Discretion",
            dependencies: [
                "EventLog", "Treatment", "Recording",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                // Passwords of people who sign in to the pages (bcrypt; C, no other dependency).
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                // Second factors (TOTP) of admins on the pages.
                .product(name: "HummingbirdOTP", package: "hummingbird-auth"),
            ]
        ),
        // The application layer: every use case, each through the one write path
        // (access → decide → authorize → stamp → seal → append → project) or the one read
        // path (need-to-know → purpose → access logged → data). Front ends call only this.
        .target(
            name: "StippleService",
            dependencies: [
                "EventLog", "Treatment", "Recording", "Reports", "Discretion",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // Test support for every test target and front end: a temporary log with its key,
        // users of every role, a small chain, and the policy's conformance cases.
        .target(
            name: "StippleTesting",
            dependencies: [
                "StippleService", "EventLog", "Treatment", "Discretion",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // `stipple serve`: the HTTP API on the application layer (Hummingbird 2). Routes
        // parse, call a session and render; errors render themselves from their kind.
        .target(
            name: "StippleServer",
            dependencies: [
                "StippleService", "EventLog", "Treatment", "Reports", "Discretion",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            resources: [.copy("openapi.json"), .copy("Web/Templates"), .copy("Web/Static")]
        ),
        // The `stipple` command: parses, calls the application layer, renders, maps error
        // kinds to exit codes. It uses the other libraries' plain data types only (events,
        // messages, days, report tables, roles); Tools/test checks that it calls nothing else.
        .executableTarget(
            name: "StippleCLI",
            dependencies: [
                "StippleService", "StippleServer", "EventLog", "Treatment", "Reports", "Discretion",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Tools: not the product.
        .executableTarget(
            name: "StippleBench",
            dependencies: [
                "EventLog", "Treatment", "Recording", "Reports", "StippleService", "CLZ4",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Tools/stipple-bench"
        ),
        // Appends batches in a loop and reports each durable append; the crash test
        // kills it with SIGKILL at random moments.
        .executableTarget(
            name: "stipple-crashwriter",
            dependencies: ["EventLog"],
            path: "Tools/stipple-crashwriter"
        ),
        .testTarget(
            name: "EventLogTests",
            dependencies: [
                "EventLog", "CLZ4", "StippleTesting",
                .product(name: "GRDB", package: "GRDB.swift"),
                "stipple-crashwriter",
            ]
        ),
        .testTarget(
            name: "TreatmentTests",
            dependencies: ["Treatment", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .testTarget(
            name: "RecordingTests",
            dependencies: ["Recording", "EventLog", "Treatment", "StippleTesting", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .testTarget(
            name: "ReportsTests",
            dependencies: [
                "Reports", "Recording", "EventLog", "Treatment", "StippleTesting",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .testTarget(
            name: "DiscretionTests",
            dependencies: ["Discretion", "EventLog", "StippleTesting", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "StippleServiceTests",
            dependencies: [
                "StippleService", "StippleTesting", "EventLog", "Treatment", "Recording", "Reports", "Discretion",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .testTarget(
            name: "StippleServerTests",
            dependencies: [
                "StippleServer", "StippleService", "StippleTesting", "EventLog",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "StippleCLITests",
            dependencies: ["StippleCLI", "EventLog", "Reports", "StippleTesting"],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
