import FederationCore
import FederationRedis
import Logging
import ServiceLifecycle

extension FederationView {
    /// Loads everything, then keeps the snapshot current until cancelled or the service group
    /// shuts down gracefully. Load failures never end it: the last snapshot stays and the
    /// backstop retries.
    ///
    /// A view runs once: a second call throws.
    public func run() async throws {
        guard !started.exchange(true, ordering: .relaxed) else {
            throw FederationError.internal("FederationView.run() was called twice; a view runs once")
        }
        await load(Set(Part.allCases), full: true)
        do {
            try await loops()
        } catch  where error is CancellationError || Task.isCancelled {
            // shut down: the snapshot stays readable
        }
    }

    private func loops() async throws {
        try await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.listen() }
                group.addTask { await self.loaderLoop() }
                group.addTask {
                    try await self.every(self.configuration.backstopInterval) { self.requestSync() }
                }
                group.addTask {
                    try await self.every(self.configuration.catalogRecheckInterval) {
                        if self.status.isHoldingCatalog { self.request([.catalog]) }
                    }
                }
                if let interval = self.configuration.inFlightInterval, self.gatewayStore != nil {
                    group.addTask { try await self.every(interval) { self.request([.inFlight]) } }
                }
                defer { group.cancelAll() }
                try await group.next()
            }
        }
    }

    private func every(_ interval: Duration, _ action: @Sendable () -> Void) async throws {
        while true {
            try await Task.sleep(for: interval)
            action()
        }
    }

    private func listen() async throws {
        while !Task.isCancelled {
            try await feed.withChanges { changes in
                for await change in changes { self.handle(change) }
            }
            // The feed ended (it should not); listen again after a pause.
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// The only writer of the snapshot once running: loads what was requested, coalescing bursts,
    /// and retries failed parts with capped exponential backoff (Redis down: the last snapshot stays).
    private func loaderLoop() async {
        var retry = ReconnectBackoff(initial: .milliseconds(100), maximum: configuration.maximumRetryDelay)
        for await _ in wakeups {
            let parts = pending.withLock { parts in
                defer { parts = [] }
                return parts
            }
            if parts.isEmpty { continue }
            let failed = await load(parts, full: parts.isSuperset(of: [.catalog, .health, .policy]))
            if failed.isEmpty {
                retry.reset()
            } else {
                pending.withLock { $0.formUnion(failed) }
                do { try await Task.sleep(for: retry.nextDelay()) } catch { return }
                wake.yield()
            }
        }
    }

    /// Applies one change. Internal so tests can drive it directly.
    func handle(_ change: FederationChange) {
        switch change {
        case .connected:
            state.withLock { $0.connected = true }
            requestSync()  // covers writes between the initial load and the subscription
        case .resync:
            state.withLock {
                $0.connected = true
                $0.resyncs += 1
            }
            seenEvents.withLock { $0 = [:] }  // Redis may have restarted with lower versions
            logger.info("change feed reconnected; re-syncing from Redis")
            requestSync()
        case .disconnected(let reason):
            state.withLock { $0.connected = false }
            logger.warning(
                "change feed disconnected; serving the last snapshot", metadata: ["reason": "\(reason)"])
        case .event(let event):
            let loaded = snapshot.versions[event.family]
            let gap = seenEvents.withLock { seen in
                let expected = max(seen[event.family] ?? 0, loaded) + 1
                seen[event.family] = max(seen[event.family] ?? 0, event.version)
                return event.version > expected
            }
            if gap { state.withLock { $0.gapsDetected += 1 } }
            // Older or equal versions are already in the snapshot. (After a FLUSHALL versions restart
            // below ours; the backstop or the reconnect re-sync picks that up.)
            // While the catalog is held over a reset one, its versions restarted below ours: any
            // catalog event (the owner's restore) is news.
            let holding = event.family == .catalog && status.isHoldingCatalog
            if event.version > loaded || holding { request([Part(event.family)]) }
        case .malformed(let channel, let problem):
            let count = state.withLock { status in
                status.malformedMessages += 1
                return status.malformedMessages
            }
            if count <= 20 || count % 1000 == 0 {
                logger.warning(
                    "ignored a malformed message",
                    metadata: ["channel": "\(channel)", "problem": "\(problem)", "count": "\(count)"])
            }
        }
    }

    /// Loads everything now and publishes the result; true when every family loaded. For tools and
    /// tests that want a snapshot without ``run()``; a running view needs no help (see
    /// ``requestSync()``).
    public func syncNow() async -> Bool {
        await load(Set(Part.allCases), full: true).isEmpty
    }

    /// Loads `parts` from the stores and publishes a new snapshot with them; returns the parts that
    /// could not be loaded.
    @discardableResult
    func load(_ parts: Set<Part>, full: Bool) async -> Set<Part> {
        async let catalog = attempt(parts.contains(.catalog)) { try await self.catalogStore.loadCatalog() }
        async let health = attempt(parts.contains(.health)) { try await self.healthStore.loadHealth() }
        async let policy = attempt(parts.contains(.policy)) { try await self.policyStore.loadPolicy() }
        async let inFlight = attempt(parts.contains(.inFlight) && gatewayStore != nil) {
            try await self.gatewayStore!.clusterInFlight(now: self.clock.now())
        }
        let (loadedCatalog, h, p, f) = await (catalog, health, policy, inFlight)
        let c = acceptedCatalog(loadedCatalog)
        var failed = Set<Part>()
        if parts.contains(.catalog) && c == nil { failed.insert(.catalog) }
        if parts.contains(.health) && h == nil { failed.insert(.health) }
        if parts.contains(.policy) && p == nil { failed.insert(.policy) }
        if parts.contains(.inFlight) && gatewayStore != nil && f == nil { failed.insert(.inFlight) }
        let base = snapshot
        var versions = base.versions
        if let c { versions.catalog = c.version }
        if let h { versions.health = h.version }
        if let p { versions.policy = p.version }
        let next: FederationSnapshot
        if c == nil && h == nil && p == nil {
            guard let f else { return failed }
            next = base.replacing(inFlight: f)
        } else {
            next = base.replacing(
                catalog: c?.value, health: h?.value.health, circuits: h?.value.circuits, policy: p?.value,
                inFlight: f,
                versions: versions)
        }
        current.withLock { $0 = SnapshotBox(next) }
        let problems = (c?.problems ?? []) + (h?.problems ?? []) + (p?.problems ?? [])
        let succeeded = failed.isDisjoint(with: [.catalog, .health, .policy])
        let loadedFamily = c != nil || h != nil || p != nil
        state.withLock { status in
            status.versions = versions
            if loadedFamily { status.lastSync = .now }
            status.invalidRecords += problems.count
            if full && succeeded {
                status.lastFullSync = .now
                status.fullSyncs += 1
            }
        }
        for problem in problems.prefix(5) {
            logger.warning("skipped an invalid stored record", metadata: ["problem": "\(problem)"])
        }
        configuration.onUpdate?(next)
        return failed
    }

    /// The loaded catalog, or nil to keep the snapshot's: an empty catalog whose version fell
    /// below ours while we had nodes is Redis having lost its data, and the catalog service
    /// restores it within about a second. It is held for `catalogGracePeriod`, then accepted.
    private func acceptedCatalog(_ loaded: Versioned<CatalogState>?) -> Versioned<CatalogState>? {
        guard let loaded else { return nil }
        let current = snapshot
        let reset =
            loaded.value.nodes.isEmpty && !current.catalog.nodes.isEmpty
            && loaded.version < current.versions.catalog
        let now = ContinuousClock.now
        enum Decision { case accept, hold(started: Bool), expire(Duration), restored(Duration) }
        let decision = state.withLock { status -> Decision in
            if reset, configuration.catalogGracePeriod > .zero {
                guard let since = status.catalogHeldSince else {
                    status.catalogHeldSince = now
                    status.catalogHolds += 1
                    return .hold(started: true)
                }
                if now - since < configuration.catalogGracePeriod { return .hold(started: false) }
                status.catalogHeldSince = nil
                return .expire(now - since)
            }
            guard let since = status.catalogHeldSince else { return .accept }
            status.catalogHeldSince = nil
            return .restored(now - since)
        }
        switch decision {
        case .accept:
            return loaded
        case .hold(let started):
            if started {
                logger.warning(
                    "catalog in Redis empty with its version reset (Redis lost its data?); keeping the last catalog",
                    metadata: [
                        "nodes": "\(current.catalog.nodes.count)",
                        "grace_ms": "\(configuration.catalogGracePeriod.wholeMilliseconds)",
                    ])
            }
            return nil
        case .expire(let held):
            logger.warning(
                "catalog in Redis stayed empty past the grace period; accepting the empty catalog",
                metadata: [
                    "held_ms": "\(held.wholeMilliseconds)", "nodes_dropped": "\(current.catalog.nodes.count)",
                ])
            return loaded
        case .restored(let held):
            logger.notice(
                "catalog back in Redis; the held catalog is replaced",
                metadata: ["held_ms": "\(held.wholeMilliseconds)", "nodes": "\(loaded.value.nodes.count)"])
            return loaded
        }
    }

    private func attempt<T: Sendable>(_ wanted: Bool, _ body: @Sendable () async throws -> T) async -> T? {
        guard wanted else { return nil }
        do {
            return try await body()
        } catch {
            state.withLock { status in
                status.loadFailures += 1
                status.lastError = "\(error)"
            }
            logger.warning("load failed; keeping the last snapshot", metadata: ["error": "\(error)"])
            return nil
        }
    }
}

extension FederationView.Part {
    init(_ family: FederationFamily) {
        switch family {
        case .catalog: self = .catalog
        case .health: self = .health
        case .policy: self = .policy
        }
    }
}

extension SnapshotVersions {
    /// The version of one family.
    public subscript(family: FederationFamily) -> UInt64 {
        switch family {
        case .catalog: catalog
        case .health: health
        case .policy: policy
        }
    }
}
