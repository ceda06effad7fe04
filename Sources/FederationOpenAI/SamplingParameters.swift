import FederationHTTP

/// The sampling fields chat and text completions share, checked as OpenAI checks them. This node
/// generates deterministic text, so only `n` changes the answer; the others are validated so that
/// a client learns of a bad value here rather than on a real provider.
public struct SamplingParameters: Decodable, Sendable, Equatable {
    /// `stop`: one sequence or up to four.
    public typealias Stop = StringOrStrings

    /// Most choices one request may ask for (OpenAI's limit).
    public static let maxChoices = 128
    /// Most stop sequences (OpenAI's limit).
    public static let maxStopSequences = 4

    public var n: Double?
    public var temperature: Double?
    public var topP: Double?
    public var presencePenalty: Double?
    public var frequencyPenalty: Double?
    public var stop: Stop?

    enum CodingKeys: String, CodingKey {
        case n, temperature, stop
        case topP = "top_p"
        case presencePenalty = "presence_penalty"
        case frequencyPenalty = "frequency_penalty"
    }

    public init(
        n: Double? = nil, temperature: Double? = nil, topP: Double? = nil, presencePenalty: Double? = nil,
        frequencyPenalty: Double? = nil, stop: Stop? = nil
    ) {
        self.n = n
        self.temperature = temperature
        self.topP = topP
        self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty
        self.stop = stop
    }

    /// Checks every range; returns how many choices to generate. The error names the field.
    public func validatedChoiceCount() throws -> Int {
        try Self.check(temperature, "temperature", 0...2)
        try Self.check(topP, "top_p", 0...1)
        try Self.check(presencePenalty, "presence_penalty", -2...2)
        try Self.check(frequencyPenalty, "frequency_penalty", -2...2)
        if case .many(let sequences) = stop, sequences.count > Self.maxStopSequences {
            throw OpenAIError.invalid(
                "Invalid 'stop': array too long. Expected an array with maximum length \(Self.maxStopSequences), "
                    + "but got an array with length \(sequences.count) instead.",
                param: "stop", code: "array_above_max_length")
        }
        return try requestInteger(n, param: "n", range: 1...Self.maxChoices) ?? 1
    }

    /// A decimal in `range`, in OpenAI's words (`decimal above maximum value`).
    public static func check(_ value: Double?, _ param: String, _ range: ClosedRange<Double>) throws {
        guard let value else { return }
        if value < range.lowerBound {
            throw OpenAIError.invalid(
                "Invalid '\(param)': decimal below minimum value. Expected a value >= \(format(range.lowerBound)), "
                    + "but got \(format(value)) instead.", param: param, code: "decimal_below_min_value")
        }
        if value > range.upperBound {
            throw OpenAIError.invalid(
                "Invalid '\(param)': decimal above maximum value. Expected a value <= \(format(range.upperBound)), "
                    + "but got \(format(value)) instead.", param: param, code: "decimal_above_max_value")
        }
    }

    /// `2` rather than `2.0`; other values as Swift prints them.
    public static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
