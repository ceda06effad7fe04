import FederationRedis

/// The Lua scripts behind the catalog service's writes: each is one atomic step inside Redis
/// with one version bump and one event, so two catalog processes on one namespace never
/// interleave half-registrations. They implement the pure functions of ``CatalogRecords`` (the
/// contract tests compare them with the in-memory store). Every write first checks that Redis is
/// not behind the writer (`{0, stored version}` then, nothing written).
enum CatalogScripts {
    private static let helpers =
        FederationScripts.split + """
            local function behind(ns, known)
              local current = tonumber(redis.call('GET', ns .. ':version:catalog') or '0')
              if current < known then return current end
              return nil
            end
            local function mergeCapabilities(key, caps)
              local merged, list = {}, {}
              for _, c in ipairs(split(redis.call('HGET', key, 'capabilities') or '')) do merged[c] = true end
              for _, c in ipairs(split(caps)) do merged[c] = true end
              for c in pairs(merged) do list[#list + 1] = c end
              table.sort(list)
              redis.call('HSET', key, 'capabilities', table.concat(list, ','))
            end
            local function putDeployment(ns, node, model, caps)
              local depKey, modelKey, pair = ns .. ':deployments:' .. model, ns .. ':model:' .. model, model .. '|' .. node
              for _, c in ipairs(split(redis.call('HGET', depKey, node))) do
                redis.call('SREM', ns .. ':capability:' .. c, pair)
              end
              redis.call('SADD', ns .. ':node-models:' .. node, model)
              redis.call('HSET', depKey, node, caps)
              for _, c in ipairs(split(caps)) do redis.call('SADD', ns .. ':capability:' .. c, pair) end
              redis.call('SADD', ns .. ':models', model)
              if not redis.call('HGET', modelKey, 'capabilities') then
                redis.call('HSET', modelKey, 'name', model, 'version', 'unknown')
              end
              mergeCapabilities(modelKey, caps)
            end
            local function removeDeployment(ns, node, model)
              local depKey = ns .. ':deployments:' .. model
              local caps = redis.call('HGET', depKey, node)
              if not caps then return false end
              for _, c in ipairs(split(caps)) do redis.call('SREM', ns .. ':capability:' .. c, model .. '|' .. node) end
              redis.call('HDEL', depKey, node)
              redis.call('SREM', ns .. ':node-models:' .. node, model)
              if redis.call('HLEN', depKey) == 0 then
                redis.call('DEL', ns .. ':model:' .. model)
                redis.call('SREM', ns .. ':models', model)
              end
              return true
            end
            local function writeNode(ns, node, fields)
              local nodeKey = ns .. ':node:' .. node
              redis.call('DEL', nodeKey)
              redis.call('HSET', nodeKey, unpack(fields))
              redis.call('SADD', ns .. ':nodes', node)
              redis.call('HSET', nodeKey, 'capabilities', nodeCapabilities(ns, node))
            end
            local function dropNode(ns, node)
              redis.call('DEL', ns .. ':node:' .. node, ns .. ':node-models:' .. node)
              redis.call('SREM', ns .. ':nodes', node)
              redis.call('ZREM', ns .. ':leases', node)
            end

            """

    /// ARGV: ns, known version, at, registration JSON
    /// `{"id", "fields": [k, v…], "models": [{"id", "caps", "version"?, "parameters"?,
    /// "quantization"?}], "lease"?: ms}`. Returns `{1, version, removed models…}`.
    static let replaceNode = RedisScript(
        helpers + """
            local ns, known, at = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
            local lag = behind(ns, known)
            if lag then return {0, lag} end
            local r = cjson.decode(ARGV[4])
            local listed = {}
            for _, m in ipairs(r.models) do
              listed[m.id] = true
              putDeployment(ns, r.id, m.id, m.caps)
            end
            local removed = {}
            for _, m in ipairs(redis.call('SMEMBERS', ns .. ':node-models:' .. r.id)) do
              if not listed[m] then
                removeDeployment(ns, r.id, m)
                removed[#removed + 1] = m
              end
            end
            table.sort(removed)
            writeNode(ns, r.id, r.fields)
            for _, m in ipairs(r.models) do
              local meta = {}
              for _, f in ipairs({'version', 'parameters', 'quantization'}) do
                if m[f] then
                  meta[#meta + 1] = f
                  meta[#meta + 1] = m[f]
                end
              end
              if #meta > 0 then redis.call('HSET', ns .. ':model:' .. m.id, unpack(meta)) end
            end
            if r.lease then
              redis.call('ZADD', ns .. ':leases', r.lease, r.id)
            else
              redis.call('ZREM', ns .. ':leases', r.id)
            end
            local v = announce(ns, 'catalog', {kind = 'register', node = r.id, at = at})
            return {1, v, unpack(removed)}
            """)

    /// ARGV: ns, known version, node, model, at. Returns `{1, version}`, or `{1, 0}` when there
    /// was no such deployment.
    static let deregister = RedisScript(
        helpers + """
            local ns, known, node, model, at = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], tonumber(ARGV[5])
            local lag = behind(ns, known)
            if lag then return {0, lag} end
            if not removeDeployment(ns, node, model) then return {1, 0} end
            if redis.call('SCARD', ns .. ':node-models:' .. node) == 0 then
              dropNode(ns, node)
            else
              redis.call('HSET', ns .. ':node:' .. node, 'capabilities', nodeCapabilities(ns, node))
            end
            return {1, announce(ns, 'catalog', {kind = 'deregister', node = node, model = model, at = at})}
            """)

    /// ARGV: ns, known version, node, expired-by ms ('' = unconditional), at. Returns
    /// `{1, version, models…}`, or `{1, 0}` when nothing was removed (unknown node, or a lease
    /// renewed past expired-by).
    static let removeNode = RedisScript(
        helpers + """
            local ns, known, node, expiredBy, at = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], tonumber(ARGV[5])
            local lag = behind(ns, known)
            if lag then return {0, lag} end
            if expiredBy ~= '' then
              local score = redis.call('ZSCORE', ns .. ':leases', node)
              if not score or tonumber(score) > tonumber(expiredBy) then return {1, 0} end
            end
            local models = redis.call('SMEMBERS', ns .. ':node-models:' .. node)
            local existed = redis.call('SISMEMBER', ns .. ':nodes', node) == 1
            for _, m in ipairs(models) do removeDeployment(ns, node, m) end
            dropNode(ns, node)
            if #models == 0 and not existed then return {1, 0} end
            table.sort(models)
            local kind = 'deregister'
            if expiredBy ~= '' then kind = 'expire' end
            local v = announce(ns, 'catalog', {kind = kind, node = node, at = at})
            return {1, v, unpack(models)}
            """)

    /// ARGV: ns, known version, at, records JSON `{"nodes": [{"id", "fields": [k, v…],
    /// "deployments": [[model, caps]…], "lease"?: ms}], "models": [{"id", "fields": [k, v…]}]}`.
    /// Only when the stored version is below the known one. Returns `{1, version, restored nodes}`
    /// or `{0, stored version}`.
    static let restore = RedisScript(
        helpers + """
            local ns, known, at = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
            local lag = behind(ns, known)
            if not lag then return {0, tonumber(redis.call('GET', ns .. ':version:catalog') or '0')} end
            local rec = cjson.decode(ARGV[4])
            local absent = {}
            for _, m in ipairs(rec.models) do
              absent[m.id] = redis.call('SISMEMBER', ns .. ':models', m.id) == 0
            end
            for _, m in ipairs(rec.models) do
              if absent[m.id] then
                redis.call('DEL', ns .. ':model:' .. m.id)
                redis.call('HSET', ns .. ':model:' .. m.id, unpack(m.fields))
                redis.call('SADD', ns .. ':models', m.id)
              end
            end
            local restored = 0
            for _, n in ipairs(rec.nodes) do
              if #n.deployments > 0 and redis.call('SISMEMBER', ns .. ':nodes', n.id) == 0 then
                for _, d in ipairs(n.deployments) do putDeployment(ns, n.id, d[1], d[2]) end
                writeNode(ns, n.id, n.fields)
                if n.lease then redis.call('ZADD', ns .. ':leases', n.lease, n.id) end
                restored = restored + 1
              end
            end
            redis.call('SET', ns .. ':version:catalog', known)
            local v = announce(ns, 'catalog', {kind = 'restore', at = at})
            return {1, v, restored}
            """)
}
