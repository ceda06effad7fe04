import FederationRedis

/// The Lua scripts behind every multi-key write and every consistent read. Each runs atomically in
/// Redis, so readers never see half a registration, and the version bump and the event are part
/// of the same step as the data. Scripts that touch keys named in the data (capability index,
/// deployments) build them from the namespace: Redis Cluster is not supported (single instance,
/// replicas or Sentinel are).
enum FederationScripts {
    /// Lua helpers every write script starts with (`split`, `nodeCapabilities`, `announce`).
    static let split = """
        local function split(s)
          local t = {}
          for c in string.gmatch(s or '', '[^,]+') do t[#t + 1] = c end
          return t
        end
        local function nodeCapabilities(ns, node)
          local set = {}
          for _, m in ipairs(redis.call('SMEMBERS', ns .. ':node-models:' .. node)) do
            for _, c in ipairs(split(redis.call('HGET', ns .. ':deployments:' .. m, node))) do set[c] = true end
          end
          local list = {}
          for c in pairs(set) do list[#list + 1] = c end
          table.sort(list)
          return table.concat(list, ',')
        end
        local function announce(ns, family, event)
          local v = redis.call('INCR', ns .. ':version:' .. family)
          event.family = family
          event.version = v
          redis.call('PUBLISH', ns .. ':events:' .. family, cjson.encode(event))
          return v
        end

        """

    /// ARGV: ns, node, model, capabilities csv, at, node hash field/value pairs…
    static let register = RedisScript(
        split + """
            local ns, node, model, caps, at = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
            local nodeKey, depKey = ns .. ':node:' .. node, ns .. ':deployments:' .. model
            local modelKey, pair = ns .. ':model:' .. model, model .. '|' .. node
            for _, c in ipairs(split(redis.call('HGET', depKey, node))) do
              redis.call('SREM', ns .. ':capability:' .. c, pair)
            end
            redis.call('DEL', nodeKey)
            redis.call('HSET', nodeKey, unpack(ARGV, 6))
            redis.call('SADD', ns .. ':nodes', node)
            redis.call('SADD', ns .. ':node-models:' .. node, model)
            redis.call('HSET', depKey, node, caps)
            for _, c in ipairs(split(caps)) do redis.call('SADD', ns .. ':capability:' .. c, pair) end
            redis.call('SADD', ns .. ':models', model)
            local existing = redis.call('HGET', modelKey, 'capabilities')
            if not existing then redis.call('HSET', modelKey, 'name', model, 'version', 'unknown') end
            local merged, list = {}, {}
            for _, c in ipairs(split(existing or '')) do merged[c] = true end
            for _, c in ipairs(split(caps)) do merged[c] = true end
            for c in pairs(merged) do list[#list + 1] = c end
            table.sort(list)
            redis.call('HSET', modelKey, 'capabilities', table.concat(list, ','))
            redis.call('HSET', nodeKey, 'capabilities', nodeCapabilities(ns, node))
            return announce(ns, 'catalog', {kind = 'register', node = node, model = model, at = tonumber(at)})
            """)

    /// ARGV: ns, model, at, model hash field/value pairs…
    static let putModel = RedisScript(
        split + """
            local ns, model, at = ARGV[1], ARGV[2], ARGV[3]
            local modelKey = ns .. ':model:' .. model
            redis.call('DEL', modelKey)
            redis.call('HSET', modelKey, unpack(ARGV, 4))
            redis.call('SADD', ns .. ':models', model)
            return announce(ns, 'catalog', {kind = 'model', model = model, at = tonumber(at)})
            """)

    /// ARGV: ns, 'leases' to include them. Returns {version, {node, fields}…, {model, fields}…,
    /// {model, deployments}…, {node, expiry ms}… (leases, when asked)}.
    static let loadCatalog = RedisScript(
        """
        local ns = ARGV[1]
        local version = redis.call('GET', ns .. ':version:catalog') or '0'
        local nodes, models, deployments = {}, {}, {}
        for _, id in ipairs(redis.call('SMEMBERS', ns .. ':nodes')) do
          nodes[#nodes + 1] = id
          nodes[#nodes + 1] = redis.call('HGETALL', ns .. ':node:' .. id)
        end
        for _, id in ipairs(redis.call('SMEMBERS', ns .. ':models')) do
          models[#models + 1] = id
          models[#models + 1] = redis.call('HGETALL', ns .. ':model:' .. id)
          deployments[#deployments + 1] = id
          deployments[#deployments + 1] = redis.call('HGETALL', ns .. ':deployments:' .. id)
        end
        local leases = {}
        if ARGV[2] == 'leases' then leases = redis.call('ZRANGE', ns .. ':leases', 0, -1, 'WITHSCORES') end
        return {version, nodes, models, deployments, leases}
        """)

    /// The fence of every health write: when a token is given (ARGV[`index`] not empty), the
    /// write happens only while the leader lease (KEYS[`key`]) holds exactly that token; else the
    /// script answers an error starting with `FENCED` and writes nothing (see ``LeaseFence``).
    private static func fence(key: Int, token index: Int) -> String {
        """
        if ARGV[\(index)] ~= '' then
          local holder = redis.call('GET', KEYS[\(key)])
          if holder ~= ARGV[\(index)] then
            return redis.error_reply('FENCED the leader lease is held by ' .. (holder or 'nobody') .. ', not ' .. ARGV[\(index)])
          end
        end

        """
    }

    /// KEYS: record hash, index set, leader lease. ARGV: ns, family, kind, node, at, fencing token
    /// ('' for none), field/value pairs…
    static let putRecord = RedisScript(
        split + fence(key: 3, token: 6)
            + """
            local ns, family, kind, node, at = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
            redis.call('DEL', KEYS[1])
            redis.call('HSET', KEYS[1], unpack(ARGV, 7))
            redis.call('SADD', KEYS[2], node)
            return announce(ns, family, {kind = kind, node = node, at = tonumber(at)})
            """)

    /// KEYS: health hash, health index, circuit hash, circuit index, leader lease. ARGV: ns, node,
    /// at, fencing token ('' for none).
    static let removeHealth = RedisScript(
        split + fence(key: 5, token: 4)
            + """
            local ns, node, at = ARGV[1], ARGV[2], ARGV[3]
            local removed = redis.call('DEL', KEYS[1], KEYS[3])
            redis.call('SREM', KEYS[2], node)
            redis.call('SREM', KEYS[4], node)
            if removed == 0 then return false end
            return announce(ns, 'health', {kind = 'remove', node = node, at = tonumber(at)})
            """)

    /// ARGV: ns. Returns {version, {node, health fields}…, {node, circuit fields}…}.
    static let loadHealth = RedisScript(
        """
        local ns = ARGV[1]
        local version = redis.call('GET', ns .. ':version:health') or '0'
        local health, circuits = {}, {}
        for _, id in ipairs(redis.call('SMEMBERS', ns .. ':health-index')) do
          health[#health + 1] = id
          health[#health + 1] = redis.call('HGETALL', ns .. ':health:' .. id)
        end
        for _, id in ipairs(redis.call('SMEMBERS', ns .. ':circuit-index')) do
          circuits[#circuits + 1] = id
          circuits[#circuits + 1] = redis.call('HGETALL', ns .. ':circuit:' .. id)
        end
        return {version, health, circuits}
        """)

    /// KEYS: policy hash. ARGV: ns, document JSON, at. The hash's `version` field is authoritative.
    static let putPolicy = RedisScript(
        split + """
            local ns, document, at = ARGV[1], ARGV[2], ARGV[3]
            local v = redis.call('INCR', ns .. ':version:policy')
            redis.call('HSET', KEYS[1], 'document', document, 'version', v, 'updated_at', at)
            redis.call('PUBLISH', ns .. ':events:policy',
              cjson.encode({family = 'policy', version = v, kind = 'policy', at = tonumber(at)}))
            return v
            """)
}
