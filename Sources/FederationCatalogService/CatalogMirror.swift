import FederationCore
import FederationState
import Synchronization

/// What this catalog process knows of the catalog: every registration and lease, as read from
/// Redis (at start and whenever the stored version moved) plus the writes this process made.
/// It is what a Redis that lost its data gets back (docs/CATALOG.md, "Redis restarted empty"),
/// and its version is the `knownVersion` every write is checked against.
final class CatalogMirror: Sendable {
    private struct State {
        var records = Versioned(value: CatalogRecords(), version: 0)
        var loaded = false
    }
    private let state = Mutex(State())

    /// The highest catalog version this process has seen (0 before the first load).
    var knownVersion: UInt64 { state.withLock { $0.records.version } }

    /// Whether the catalog was read from Redis at least once.
    var isLoaded: Bool { state.withLock { $0.loaded } }

    /// How many nodes the known catalog has.
    var nodeCount: Int { state.withLock { $0.records.value.state.nodes.count } }

    /// The known catalog and its version.
    var records: Versioned<CatalogRecords> { state.withLock { $0.records } }

    /// Takes what was read from the store, unless it is older than what is known (a read that
    /// raced one of this process's own writes).
    func reset(to loaded: Versioned<CatalogRecords>) {
        state.withLock { state in
            guard !state.loaded || loaded.version >= state.records.version else { return }
            state.records = Versioned(value: loaded.value, version: loaded.version)
            state.loaded = true
        }
    }

    /// Applies one of this process's own writes, which the store answered with `version`. Applied
    /// in place only when it directly follows what is known; otherwise another process wrote in
    /// between, and the next ``CatalogWriter/synchronize()`` reloads (the stored version moved).
    func apply(version: UInt64, _ change: (inout CatalogRecords) -> Void) {
        state.withLock { state in
            guard state.loaded, version == state.records.version + 1 else { return }
            change(&state.records.value)
            state.records.version = version
        }
    }
}
