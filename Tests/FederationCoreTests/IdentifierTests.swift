import Testing
@testable import FederationCore
@Test func identifiersRejectBadCharacters() { #expect(Identifier.problem(with: "a b", kind: "node id") != nil) }
