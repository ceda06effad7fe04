import FederationConfig
import FederationCore
import FederationHTTP
import HTTPTypes

/// Authenticates the request by its API key and applies its tenant's rules.
///
/// With no key configured every request is anonymous (tenant nil) and passes. Otherwise the
/// `Authorization: Bearer <key>` header must name a configured key (else 401 `invalid_api_key`);
/// the request then carries the key's tenant (``GatewayRequest/tenant``, also the affinity key
/// when none is set) and the tenant's ``TenantSettings``: the privacy level becomes the higher of
/// the request's and the tenant's floor (a header may raise it, never lower it), and the allowed
/// regions become the tenant's regions narrowed by the request's (never widened); a request that
/// names only regions outside the tenant's gets 403 `region_not_allowed`.
public struct AuthMiddleware: GatewayMiddleware {
    public let name = "auth"
    public let ring: APIKeyRing
    public let tenants: [String: TenantSettings]

    public init(ring: APIKeyRing, tenants: [String: TenantSettings]) {
        self.ring = ring
        self.tenants = tenants
    }

    /// From `gateway.api_keys` and `gateway.tenants`.
    /// - Throws: ``APIKeyRingError`` when a key entry is unusable.
    public init(settings: GatewaySettings) throws(APIKeyRingError) {
        self.init(ring: try APIKeyRing(settings.apiKeys), tenants: settings.tenants)
    }

    public func beforeRouting(_ request: inout GatewayRequest) async throws {
        // Only the key says who is asking: whatever set a tenant before does not count.
        request.routing.tenantId = nil
        if ring.isEmpty { return }
        let tenant = try ring.tenant(for: request.headers[.authorization]).get()
        request.routing.tenantId = tenant
        if request.routing.affinityKey == nil { request.routing.affinityKey = tenant }
        if let settings = tenants[tenant] { try Self.apply(settings, tenant: tenant, to: &request) }
    }

    /// Raises the privacy level to the tenant's floor and narrows the regions to the tenant's.
    static func apply(_ settings: TenantSettings, tenant: String, to request: inout GatewayRequest) throws {
        if let floor = settings.minPrivacy {
            request.routing.qos.privacy = max(request.routing.qos.privacy, floor)
        }
        guard let regions = settings.regions else { return }
        let allowed = Set(regions)
        guard let asked = request.allowedRegions else {
            if allowed.isEmpty { throw OpenAIError.regionNotAllowed(tenant: tenant, allowed: [], asked: nil) }
            request.allowedRegions = allowed
            return
        }
        let both = asked.intersection(allowed)
        if both.isEmpty {
            throw OpenAIError.regionNotAllowed(tenant: tenant, allowed: allowed, asked: asked)
        }
        request.allowedRegions = both
    }
}

extension OpenAIError {
    /// 403: the request may only be served in regions its tenant may not use.
    static func regionNotAllowed(tenant: String, allowed: Set<RegionId>, asked: Set<RegionId>?) -> OpenAIError
    {
        func list(_ regions: Set<RegionId>) -> String {
            regions.map(\.rawValue).sorted().joined(separator: ", ")
        }
        let message: String
        if let asked {
            message =
                "Tenant '\(tenant)' may only be served in \(list(allowed)); the request allows only "
                + "\(list(asked)). Name at least one of them in X-Federation-Allowed-Regions, or omit the header."
        } else {
            message =
                "Tenant '\(tenant)' has no allowed region (gateway.tenants.\(tenant).regions is empty); "
                + "ask the gateway's operator to allow one."
        }
        return OpenAIError(
            status: .forbidden, message: message, type: "invalid_request_error", code: "region_not_allowed")
    }
}
