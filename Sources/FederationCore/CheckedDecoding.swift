/// Decoding of outside numbers through the checked conversions (`CheckedNumbers.swift`): a value
/// out of range, not whole, or not finite is a `DecodingError.dataCorrupted` whose coding path
/// names the field, so ``DecodingProblem`` reports "Invalid value for 'qos.max_latency_ms': …".
///
/// Foundation's `JSONDecoder` reports a number that does not fit an integer type (`-1` for a
/// `UInt64`, `1.5` or `1e30` for an `Int`) as "The given data was not valid JSON." without a field;
/// these decoders read such a value as a `Double` to say what it was.
extension KeyedDecodingContainer {
    /// The integer at `key` (nil when absent or null), required to lie in `range`.
    public func decodeInteger<T: FixedWidthInteger & Decodable & Sendable>(
        _ type: T.Type, forKey key: Key, in range: ClosedRange<T>
    ) throws -> T? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        let value: T
        do {
            value = try decode(T.self, forKey: key)
        } catch let error as DecodingError where !error.isCorruption {
            throw error  // a string where a number belongs, null…: the translator says so
        } catch {
            // Foundation throws its internal `numberIsNotRepresentableInSwift` here, which its
            // top level would report as "not valid JSON".
            throw outOfRange(key, expected: "a whole number in \(range.lowerBound)…\(range.upperBound)")
        }
        guard range.contains(value) else {
            throw corrupted(
                key, "must be a whole number in \(range.lowerBound)…\(range.upperBound), got \(value)")
        }
        return value
    }

    /// The finite number at `key` (nil when absent or null), required to lie in `range`.
    public func decodeNumber(forKey key: Key, in range: ClosedRange<Double>) throws -> Double? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        let value: Double
        do {
            value = try decode(Double.self, forKey: key)
        } catch let error as DecodingError where !error.isCorruption {
            throw error
        } catch {
            throw corrupted(
                key, "must be a number in \(format(range.lowerBound))…\(format(range.upperBound))")
        }
        guard value.isFinite, range.contains(value) else {
            throw corrupted(
                key,
                "must be a number in \(format(range.lowerBound))…\(format(range.upperBound)), got \(value)")
        }
        return value
    }

    /// The duration at `key`, given in milliseconds (nil when absent or null); the number must be
    /// finite and in `range`.
    public func decodeMilliseconds(forKey key: Key, in range: ClosedRange<Double>) throws -> Duration? {
        guard let value = try decodeNumber(forKey: key, in: range) else { return nil }
        guard let duration = Duration.milliseconds(checked: value) else {
            throw corrupted(key, "\(value) ms is not a representable duration")
        }
        return duration
    }

    /// A `dataCorrupted` error at `key` with `message`.
    public func corrupted(_ key: Key, _ message: String) -> DecodingError {
        .dataCorrupted(.init(codingPath: codingPath + [key], debugDescription: message))
    }

    /// Says what the number at `key` was, when Foundation refused it for an integer type.
    private func outOfRange(_ key: Key, expected: String) -> DecodingError {
        if let number = try? decode(Double.self, forKey: key) {
            let kind = number.rounded() == number ? "is out of range" : "is not a whole number"
            return corrupted(key, "must be \(expected); \(number) \(kind)")
        }
        return corrupted(key, "must be \(expected)")
    }

    private func format(_ value: Double) -> String {
        if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

extension DecodingError {
    /// Whether this is `dataCorrupted` (as opposed to a type mismatch or a missing value).
    var isCorruption: Bool {
        if case .dataCorrupted = self { return true }
        return false
    }
}

/// An enum-like field on the wire (privacy level, capability, strategy, health state…). The one
/// rule for all of them (docs/CORE.md, "Enum-like values"): matched **case-insensitively** (ASCII),
/// always written in lowercase; an unknown value is an error that lists the valid ones.
public protocol WireEnum: CaseIterable, Sendable {
    /// The lowercase wire form.
    var wireName: String { get }
    /// What the field is called in messages ("privacy level", "strategy").
    static var wireKind: String { get }
}

extension WireEnum {
    /// The valid wire forms, joined for a message.
    public static var validWireNames: String { allCases.map(\.wireName).joined(separator: ", ") }

    /// The case whose wire form equals `text` ignoring ASCII case; nil otherwise.
    public static func matching(_ text: String) -> Self? {
        let lowered = WireText.lowercased(text)
        return allCases.first { $0.wireName == lowered }
    }

    /// The case for `text`, or an error naming the value and every valid one.
    public static func parse(_ text: String) throws(FederationError) -> Self {
        guard let value = matching(text) else {
            throw .invalidInput(
                "unknown \(wireKind) '\(WireText.quoted(text))'; expected one of \(validWireNames)")
        }
        return value
    }

    /// Decodes a string through ``parse(_:)``; an unknown value is a `dataCorrupted` at the field.
    public static func decodeWire(from decoder: any Decoder) throws -> Self {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            return try parse(text)
        } catch {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }
}

extension WireEnum where Self: RawRepresentable, RawValue == String {
    public var wireName: String { rawValue }
}

/// Text helpers for the messages about wire values.
public enum WireText {
    /// ASCII-lowercased `text` (non-ASCII is left alone, so it never matches a wire name).
    public static func lowercased(_ text: String) -> String {
        String(
            decoding: text.utf8.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    /// `text` cut to 64 characters for an error message.
    public static func quoted(_ text: String) -> String {
        text.count > 64 ? String(text.prefix(64)) + "…" : text
    }
}
