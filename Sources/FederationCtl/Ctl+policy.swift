import Foundation
import NIOHTTP1

#if canImport(Glibc)
    import Glibc
#endif

/// A change to the policy: a whole document (PUT) or a merge patch (PATCH).
public enum PolicyChange: Sendable, Equatable {
    case replace(JSON)
    case patch(JSON)

    /// A merge patch from `KEY=VALUE` fields: dotted keys nest (`weights.locality=2` →
    /// `{"weights":{"locality":2}}`); a value is JSON when it parses as JSON (`2`, `true`, `null`,
    /// `{"privacy":"public","cost":0.3}`), else a string (`strategy=round_robin`).
    public static func patch(fields: [String]) throws -> JSON {
        var root: [String: JSON] = [:]
        for field in fields {
            guard let equals = field.firstIndex(of: "="), equals != field.startIndex else {
                throw CtlError.usage("'\(field)' is not KEY=VALUE (e.g. min_score=0.2, weights.locality=2)")
            }
            let path = field[..<equals].split(separator: ".", omittingEmptySubsequences: false).map(
                String.init)
            guard !path.contains(where: \.isEmpty) else { throw CtlError.usage("'\(field)': empty key") }
            let text = String(field[field.index(after: equals)...])
            let value = JSON.parse(text) ?? .string(text)
            root = merged(root, path: path[...], value: value)
        }
        return .object(root)
    }

    private static func merged(
        _ object: [String: JSON], path: ArraySlice<String>, value: JSON
    ) -> [String: JSON] {
        var object = object
        guard let key = path.first else { return object }
        if path.count == 1 {
            object[key] = value
        } else {
            object[key] = .object(merged(object[key]?.object ?? [:], path: path.dropFirst(), value: value))
        }
        return object
    }
}

extension Ctl {
    /// `fedctl policy get`.
    public func policyGet() async throws -> String {
        let answer = try body(try await client.call(.router, .GET, "/v1/policy"), from: .router)
        if json { return answer.text() }
        let published = answer["published"]?.bool == false ? " (not published yet)" : ""
        return "policy version \(answer["version"]?.cellText ?? "-")\(published)\n"
            + (answer["document"] ?? .null).text()
    }

    /// `fedctl policy set`: PUT a document or PATCH fields, optionally only if the policy is still
    /// at version `ifMatch`.
    public func policySet(_ change: PolicyChange, ifMatch: Int?) async throws -> String {
        let (method, document): (HTTPMethod, JSON) =
            switch change {
            case .replace(let document): (.PUT, document)
            case .patch(let patch): (.PATCH, patch)
            }
        let headers = ifMatch.map { [("If-Match", "\"\($0)\"")] } ?? []
        let response = try await client.call(
            .router, method, "/v1/policy", body: Self.bytes(document), admin: true, headers: headers)
        let answer = try body(response, from: .router)
        return json ? answer.text() : Self.renderPolicyWrite(answer)
    }

    static func renderPolicyWrite(_ answer: JSON) -> String {
        let version = answer["version"]?.cellText ?? "-"
        return answer["applied"]?.bool == false
            ? "policy stored as version \(version); the router has not applied it yet (fedctl policy get shows what decides)"
            : "policy version \(version) applied"
    }

    /// `fedctl policy edit`: the current document in `$VISUAL`/`$EDITOR` (`editor` when given);
    /// when the edited file changed, it is validated and PUT with `If-Match` of the version it
    /// started from. An invalid document keeps the file and says where it is.
    public func policyEdit(editor: String) async throws -> String {
        let current = try body(try await client.call(.router, .GET, "/v1/policy"), from: .router)
        let version = current["version"]?.int
        let document = current["document"] ?? .object([:])
        let path =
            NSTemporaryDirectory()
            + "fedctl-policy-v\(version ?? 0)-\(UInt32.random(in: 0...UInt32.max)).json"
        guard FileManager.default.createFile(atPath: path, contents: Data((document.text() + "\n").utf8))
        else {
            throw CtlError.failed("cannot write \(path)")
        }
        let status = try await Self.runEditor(editor, file: path)
        guard status == 0 else {
            throw CtlError.failed(
                "the editor '\(editor)' exited with status \(status); nothing was changed; the file is kept at \(path)"
            )
        }
        let edited = (try? Data(contentsOf: URL(fileURLWithPath: path))).map { [UInt8]($0) } ?? []
        guard let parsed = JSON.parse(edited) else {
            throw CtlError.failed(
                "\(path) is not valid JSON; nothing was changed. Fix it and run: fedctl policy set --file \(path)"
            )
        }
        if parsed == document {
            try? FileManager.default.removeItem(atPath: path)
            return "no change; nothing was sent (policy version \(version.map(String.init) ?? "-"))"
        }
        let headers = version.map { [("If-Match", "\"\($0)\"")] } ?? []
        let response = try await client.send(
            .router, .PUT, "/v1/policy", body: Self.bytes(parsed), admin: true, headers: headers)
        guard (200...299).contains(response.status) else {
            let error = ServiceClient.error(.router, urls, response)
            if case .service(let service, let url, let status, let code, let message) = error {
                throw CtlError.service(
                    service: service, url: url, status: status, code: code,
                    message: message
                        + "\nYour edit is kept at \(path); fix it and run: fedctl policy set --file \(path)")
            }
            throw error
        }
        try? FileManager.default.removeItem(atPath: path)
        let answer = try body(response, from: .router)
        return json ? answer.text() : Self.renderPolicyWrite(answer)
    }

    /// Runs `editor file` through `/bin/sh` (so `EDITOR="code --wait"` works) with the terminal
    /// inherited; returns its exit status without blocking the cooperative pool.
    static func runEditor(_ editor: String, file: String) async throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "\(editor) \"$1\"", "fedctl-editor", file]
        return try await exitStatus(of: process) {
            CtlError.failed("cannot start the editor '\(editor)': \($0)")
        }
    }

    /// The editor of `policy edit`: `$VISUAL`, else `$EDITOR`, else `vi`.
    public static func defaultEditor(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String {
        for name in ["VISUAL", "EDITOR"] { if let value = environment[name], !value.isEmpty { return value } }
        return "vi"
    }
}
