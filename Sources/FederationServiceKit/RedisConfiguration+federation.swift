import FederationConfig
import FederationRedis

extension RedisConfiguration {
    /// The Redis client configuration a service runs with: `redis.url`, and — when `redis.sentinels`
    /// is set — the Sentinels, which then name the master (the URL's host and port are not used;
    /// its user, password and database still are). Throws a message naming the bad setting.
    public static func federation(_ configuration: FederationConfiguration) throws -> RedisConfiguration {
        var redis = try RedisConfiguration(url: configuration.redisURL)
        let settings = configuration.redisSentinel
        guard settings.isEnabled else { return redis }
        if let problem = settings.validationProblem { throw ConfigurationLoader.Problem(problem) }
        redis.sentinel = try RedisSentinelConfiguration(
            sentinels: settings.sentinels.map { text throws(RedisSentinelError) in
                try RedisSentinelConfiguration.Address(parsing: text)
            },
            masterName: settings.masterName ?? "", password: settings.password,
            replicaWait: settings.replicaWait)
        return redis
    }
}
