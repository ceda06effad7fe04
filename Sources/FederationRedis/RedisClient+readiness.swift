extension RedisClient {
    /// "ok" when Redis answers PING, else what is wrong ("redis: …"), for `/readyz` checks.
    /// Bounded by the client's command timeout; never throws.
    public func readinessCheck() async -> String {
        do {
            let reply = try await command("PING")
            return reply.string == "PONG" ? "ok" : "redis: unexpected reply \(reply)"
        } catch {
            return "redis: \(error)"
        }
    }
}
