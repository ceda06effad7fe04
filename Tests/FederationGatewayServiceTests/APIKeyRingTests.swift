import FederationConfig
import FederationCore
import FederationGatewayService
import FederationHTTP
import HTTPTypes
import Testing

@Suite struct APIKeyRingTests {
    static let acmeKey = "sk-acme-0123456789abcdef"
    static let globexKey = "sk-globex-fedcba9876543210"

    /// acme by its plain key, globex by the SHA-256 of its key (what a config file would hold).
    func ring() throws -> APIKeyRing {
        try APIKeyRing([Self.acmeKey: "acme", APIKeyRing.hash(Self.globexKey): "globex"])
    }

    func failure(_ result: Result<String, OpenAIError>) -> OpenAIError? {
        if case .failure(let error) = result { return error }
        return nil
    }

    @Test func plainAndHashedEntriesMapToTheirTenants() throws {
        let ring = try ring()
        #expect(ring.count == 2)
        #expect(try ring.tenant(for: "Bearer \(Self.acmeKey)").get() == "acme")
        #expect(try ring.tenant(for: "Bearer \(Self.globexKey)").get() == "globex")
        // The scheme in any case, surrounding blanks ignored.
        #expect(try ring.tenant(for: "bearer \(Self.acmeKey)").get() == "acme")
        #expect(try ring.tenant(for: "  BEARER   \(Self.globexKey)  ").get() == "globex")
        // The hash of a key written in upper case is the same entry.
        let upper = "sha256:" + APIKeyRing.hash("k1").dropFirst(7).uppercased()
        #expect(try APIKeyRing([upper: "t"]).tenant(for: "Bearer k1").get() == "t")
    }

    @Test(arguments: [
        nil, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token sk-acme-0123456789abcdef",
        "Bearersk-acme-0123456789abcdef", "Bearer sk-acme-0123456789abcde",
        "Bearer sk-acme-0123456789abcdeff",
        "Bearer sha256:" + String(repeating: "0", count: 64),
        "Bearer \(APIKeyRing.hash(APIKeyRingTests.globexKey))",
    ])
    func wrongMissingOrMalformedHeadersGet401(header: String?) throws {
        let error = try #require(failure(try ring().tenant(for: header)))
        #expect(error.status == .unauthorized)
        #expect(error.code == "invalid_api_key")
        #expect(error.type == "invalid_request_error")
        #expect(error.headers[.wwwAuthenticate] == "Bearer")
        // The key (or what the client sent) is never echoed.
        if let header, header.count > 7 {
            #expect(!error.message.contains(header.dropFirst(7)))
        }
        #expect(!error.message.contains(Self.acmeKey))
        #expect(!error.message.contains(Self.globexKey))
    }

    @Test func aMissingHeaderIsToldApartFromAWrongKey() throws {
        let ring = try ring()
        let missing = try #require(failure(ring.tenant(for: nil)))
        let wrong = try #require(failure(ring.tenant(for: "Bearer nope")))
        #expect(missing.message.contains("didn't provide an API key"))
        #expect(wrong.message.contains("Incorrect API key provided"))
        #expect(!wrong.message.contains("nope"))
    }

    @Test(arguments: [
        ("sha256:abc", "has 3 characters"),
        ("sha256:" + String(repeating: "g", count: 64), "not a hexadecimal digit"),
        ("sha256:" + String(repeating: "a", count: 65), "has 65 characters"),
        ("sha256:", "has 0 characters"),
    ])
    func aBadSha256EntryIsAnErrorNamingTheTenantNotTheKey(entry: String, problem: String) throws {
        let error = try #require(throws: APIKeyRingError.self) {
            try APIKeyRing(["good-key": "acme", entry: "globex"])
        }
        #expect(error.message.contains("tenant 'globex'"))
        #expect(error.message.contains(problem))
        #expect(!error.message.contains(entry.dropFirst(7).prefix(8)) || entry.count == 7)
        #expect(!error.message.contains("good-key"))
    }

    @Test func emptyKeysTenantsAndDuplicatesAreErrors() throws {
        #expect(throws: APIKeyRingError.self) { try APIKeyRing(["": "acme"]) }
        #expect(throws: APIKeyRingError.self) { try APIKeyRing(["k": ""]) }
        let duplicate = try #require(throws: APIKeyRingError.self) {
            try APIKeyRing(["secret-1": "acme", APIKeyRing.hash("secret-1"): "globex"])
        }
        #expect(duplicate.message.contains("same key"))
        #expect(!duplicate.message.contains("secret-1"))
        #expect(try APIKeyRing([:]).isEmpty)
    }
}

@Suite struct AuthMiddlewareTests {
    static let key = "sk-tenant-key-1"

    func request(
        authorization: String? = "Bearer \(key)", privacy: PrivacyLevel = .internal,
        regions: Set<RegionId>? = nil, affinity: String? = nil
    ) -> GatewayRequest {
        var headers = HTTPFields()
        if let authorization { headers[.authorization] = authorization }
        var qos = QoSRequirements()
        qos.privacy = privacy
        return GatewayRequest(
            id: "r1", path: "/v1/chat/completions",
            routing: InferenceRequest(
                requestId: "r1", capability: .generate, qos: qos, affinityKey: affinity),
            allowedRegions: regions, headers: headers)
    }

    func auth(_ tenant: TenantSettings? = nil) throws -> AuthMiddleware {
        var settings = GatewaySettings()
        settings.apiKeys = [Self.key: "acme"]
        if let tenant { settings.tenants = ["acme": tenant] }
        return try AuthMiddleware(settings: settings)
    }

    func rejection(_ middleware: AuthMiddleware, _ request: GatewayRequest) async -> OpenAIError? {
        var request = request
        do {
            try await middleware.beforeRouting(&request)
            return nil
        } catch {
            return error as? OpenAIError
        }
    }

    @Test func withoutKeysEveryRequestIsAnonymous() async throws {
        let middleware = try AuthMiddleware(settings: GatewaySettings())
        var request = request(authorization: nil)
        request.routing.tenantId = "spoofed"
        try await middleware.beforeRouting(&request)
        #expect(request.tenant == nil)
        #expect(request.routing.affinityKey == nil)
    }

    @Test func aValidKeySetsTheTenantAndTheAffinityKey() async throws {
        var request = request()
        try await auth().beforeRouting(&request)
        #expect(request.tenant == "acme")
        #expect(request.routing.affinityKey == "acme")
        var session = self.request(affinity: "session-7")
        try await auth().beforeRouting(&session)
        #expect(session.routing.affinityKey == "session-7")
        let error = await rejection(try auth(), self.request(authorization: "Bearer other"))
        #expect(error?.status == .unauthorized)
    }

    @Test func thePrivacyFloorIsRaisedNeverLowered() async throws {
        let middleware = try auth(TenantSettings(minPrivacy: .confidential))
        var low = request(privacy: .public)
        try await middleware.beforeRouting(&low)
        #expect(low.routing.qos.privacy == .confidential)
        var high = request(privacy: .restricted)
        try await middleware.beforeRouting(&high)
        #expect(high.routing.qos.privacy == .restricted)
    }

    @Test func regionsAreNarrowedNeverWidened() async throws {
        let middleware = try auth(TenantSettings(regions: [RegionId("eu-west"), RegionId("eu-central")]))
        var any = request()
        try await middleware.beforeRouting(&any)
        #expect(any.allowedRegions == [RegionId("eu-west"), RegionId("eu-central")])
        var narrower = request(regions: [RegionId("eu-west"), RegionId("us-east")])
        try await middleware.beforeRouting(&narrower)
        #expect(narrower.allowedRegions == [RegionId("eu-west")])

        let error = try #require(await rejection(middleware, request(regions: [RegionId("us-east")])))
        #expect(error.status == .forbidden)
        #expect(error.code == "region_not_allowed")
        #expect(error.message.contains("us-east"))
        #expect(error.message.contains("eu-central, eu-west"))
        #expect(error.message.contains("acme"))
    }

    @Test func aTenantWithNoRegionIsRefused() async throws {
        let error = try #require(await rejection(try auth(TenantSettings(regions: [])), request()))
        #expect(error.status == .forbidden)
        #expect(error.code == "region_not_allowed")
    }
}
