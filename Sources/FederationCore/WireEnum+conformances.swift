// Enum-like values that are stored or sent as text follow the one rule of ``WireEnum``
// (case-insensitive, written lowercase). The others conform where they are declared.

extension HealthState: WireEnum {
    public static var wireKind: String { "health state" }
}

extension CircuitState: WireEnum {
    public static var wireKind: String { "circuit state" }
}
