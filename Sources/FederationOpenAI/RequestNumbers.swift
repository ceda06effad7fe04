import FederationHTTP

/// The one way a number from a request body becomes an `Int`. Bodies decode numbers
/// as `Double` (so `1e20` or `1.5` reach this check instead of failing inside `JSONDecoder` with
/// no field named); this rejects what is not a whole number in `range` with a 400 naming the field,
/// in OpenAI's words, and only then converts (never a trapping `Int(x)`).
/// - Returns: nil when the field was absent.
public func requestInteger(_ value: Double?, param: String, range: ClosedRange<Int>) throws -> Int? {
    guard let value else { return nil }
    guard value.isFinite, value == value.rounded(.towardZero) else {
        throw OpenAIError.invalid(
            "Invalid type for '\(param)': expected an integer, but got a decimal number instead.",
            param: param, code: "invalid_type")
    }
    if value < Double(range.lowerBound) {
        throw OpenAIError.invalid(
            "Invalid '\(param)': integer below minimum value. Expected a value >= \(range.lowerBound), "
                + "but got \(SamplingParameters.format(value)) instead.", param: param,
            code: "integer_below_min_value")
    }
    if value > Double(range.upperBound) {
        throw OpenAIError.invalid(
            "Invalid '\(param)': integer above maximum value. Expected a value <= \(range.upperBound), "
                + "but got \(SamplingParameters.format(value)) instead.", param: param,
            code: "integer_above_max_value")
    }
    // In range, so exactly representable as an Int.
    return Int(exactly: value) ?? range.lowerBound
}

/// `max_tokens`-style limits (1…16384); the error names the field.
public func validatedMaxTokens(_ value: Double?, param: String, default defaultValue: Int) throws -> Int {
    try requestInteger(value, param: param, range: 1...16_384) ?? defaultValue
}
