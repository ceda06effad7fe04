/// Anything `/readyz` can answer with: 200 when `ready`, else 503, the value as JSON either way
/// (`FederationHTTP.addOperationalRoutes`). Here rather than in FederationHTTP so that reports
/// built outside HTTP (the view's, in FederationState) conform where they are defined.
public protocol ReadinessReport: Encodable, Sendable {
    var ready: Bool { get }
}
