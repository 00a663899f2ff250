import Crypto
import GRDB

/// The log's tables, triggers and migrations.
///
/// Migrations are named and applied in order by GRDB's `DatabaseMigrator`; a log that
/// holds a migration this build does not know refuses to open
/// (``EventLogError/logFromNewerVersion(path:unknownMigrations:)``).
enum LogSchema {
    /// `PRAGMA application_id` of every Stipple log: "STPL".
    static let applicationID: Int32 = 0x5354_504C

    /// The names of the immutability triggers that `verify` checks are in place.
    static let guardTriggers = [
        "events_are_immutable_update", "events_are_immutable_delete",
        "codecs_are_immutable_update", "codecs_are_immutable_delete",
        "event_types_are_immutable_update", "event_types_are_immutable_delete",
        "streams_keep_their_name", "streams_are_never_deleted",
    ]

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("2026-11-25 event log v1") { db in
            try db.execute(sql: """
                CREATE TABLE stipple_info (
                    key TEXT PRIMARY KEY NOT NULL,
                    value TEXT NOT NULL
                ) WITHOUT ROWID;

                CREATE TABLE streams (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    version INTEGER NOT NULL DEFAULT 0
                );

                CREATE TABLE event_types (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE
                );

                CREATE TABLE codecs (
                    id INTEGER PRIMARY KEY,
                    kind TEXT NOT NULL CHECK (kind IN ('raw', 'lz4', 'lz4-dict')),
                    dictionary BLOB NOT NULL,
                    dictionary_sha256 BLOB NOT NULL,
                    created_at INTEGER NOT NULL,
                    trained_at_position INTEGER NOT NULL DEFAULT 0,
                    sample_count INTEGER NOT NULL DEFAULT 0
                );

                CREATE TABLE events (
                    position INTEGER PRIMARY KEY,
                    event_id BLOB NOT NULL,
                    stream_id INTEGER NOT NULL,
                    stream_version INTEGER NOT NULL,
                    type_id INTEGER NOT NULL,
                    schema_version INTEGER NOT NULL,
                    recorded_at INTEGER NOT NULL,
                    metadata BLOB,
                    codec INTEGER NOT NULL,
                    raw_length INTEGER NOT NULL,
                    payload BLOB NOT NULL,
                    hash BLOB NOT NULL
                );
                CREATE UNIQUE INDEX events_by_id ON events(event_id);
                CREATE UNIQUE INDEX events_by_stream ON events(stream_id, stream_version);

                CREATE TRIGGER events_are_immutable_update BEFORE UPDATE ON events
                BEGIN SELECT RAISE(ABORT, 'events are immutable: the log is append-only; record a correcting event instead'); END;
                CREATE TRIGGER events_are_immutable_delete BEFORE DELETE ON events
                BEGIN SELECT RAISE(ABORT, 'events are immutable: the log is append-only; events cannot be deleted'); END;
                CREATE TRIGGER codecs_are_immutable_update BEFORE UPDATE ON codecs
                BEGIN SELECT RAISE(ABORT, 'codecs are immutable: stored events depend on their dictionaries'); END;
                CREATE TRIGGER codecs_are_immutable_delete BEFORE DELETE ON codecs
                BEGIN SELECT RAISE(ABORT, 'codecs are immutable: stored events depend on their dictionaries'); END;
                CREATE TRIGGER event_types_are_immutable_update BEFORE UPDATE ON event_types
                BEGIN SELECT RAISE(ABORT, 'event types are immutable'); END;
                CREATE TRIGGER event_types_are_immutable_delete BEFORE DELETE ON event_types
                BEGIN SELECT RAISE(ABORT, 'event types are immutable'); END;
                CREATE TRIGGER streams_keep_their_name BEFORE UPDATE ON streams
                WHEN NEW.name IS NOT OLD.name OR NEW.id IS NOT OLD.id OR NEW.version < OLD.version
                BEGIN SELECT RAISE(ABORT, 'streams keep their name and their version only grows'); END;
                CREATE TRIGGER streams_are_never_deleted BEFORE DELETE ON streams
                BEGIN SELECT RAISE(ABORT, 'streams cannot be deleted from an append-only log'); END;
                """)
            let empty = Array(SHA256.hash(data: [UInt8]()))
            for (id, kind) in [(Codec.rawID, "raw"), (Codec.plainLZ4ID, "lz4")] {
                try db.execute(
                    sql: "INSERT INTO codecs (id, kind, dictionary, dictionary_sha256, created_at) VALUES (?, ?, x'', ?, 0)",
                    arguments: [id, kind, Data(empty)])
            }
            try db.execute(sql: "INSERT INTO stipple_info (key, value) VALUES ('format', 'stipple-log 1')")
        }
        migrator.registerMigration("2026-11-25 stored type versions") { db in
            // Every (type, schema version) the log holds, so that a reader can tell at
            // start-up whether it can read them all without scanning the events.
            try db.execute(sql: """
                CREATE TABLE event_type_versions (
                    type_id INTEGER NOT NULL,
                    schema_version INTEGER NOT NULL,
                    PRIMARY KEY (type_id, schema_version)
                ) WITHOUT ROWID;
                INSERT OR IGNORE INTO event_type_versions (type_id, schema_version)
                SELECT DISTINCT type_id, schema_version FROM events;
                """)
        }
        return migrator
    }
}

import Foundation
