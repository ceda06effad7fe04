extension RedisClient {
    /// "ok" when Redis answers PING and the client counts it as available, else what is wrong
    /// ("redis: …"), for `/readyz` checks. Bounded by the client's command timeout; never throws.
    ///
    /// Readiness follows ``availability`` (with its hysteresis), not one PING on one pooled
    /// connection: after Redis returns, `/readyz` turns 200 once, when no connection failed for
    /// ``RedisConfiguration/availabilitySettle``, instead of flapping while the other connections
    /// reconnect.
    public func readinessCheck() async -> String {
        let reply: RedisValue
        do {
            reply = try await command("PING")
        } catch {
            return "redis: \(error)"
        }
        guard reply.string == "PONG" else { return "redis: unexpected reply \(reply)" }
        let state = availability
        if state.isUp { return "ok" }
        return "redis: recovering from an outage (last failure: \(state.lastError ?? "unknown"))"
    }
}
