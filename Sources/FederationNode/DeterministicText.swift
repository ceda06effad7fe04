/// Deterministic "model output": the same input always gives the same words, tokens and vectors.
///
/// Nothing here is random at run time; everything is derived from a 64-bit FNV-1a hash of the
/// input, expanded with SplitMix64.
public enum DeterministicText {
    /// The vocabulary generated text is drawn from.
    static let vocabulary: [String] = [
        "the", "model", "node", "federation", "request", "token", "stream", "region", "latency", "gateway",
        "route", "health", "circuit", "policy", "privacy", "cost", "signal", "vector", "answer", "prompt",
        "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "river", "mountain", "cloud",
        "light", "shadow", "engine", "garden", "window", "market", "planet", "ocean", "forest", "city",
        "is", "and", "of", "to", "in", "with", "for", "on", "a", "an",
        "bright", "calm", "rapid", "steady", "silent", "golden", "gentle", "clever", "distant", "open",
        "runs", "builds", "finds", "keeps",
    ]

    /// FNV-1a over bytes.
    public static func hash(_ bytes: some Sequence<UInt8>, seed: UInt64 = 0) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// FNV-1a over a string's UTF-8.
    public static func hash(_ text: String, seed: UInt64 = 0) -> UInt64 {
        hash(text.utf8, seed: seed)
    }

    /// `count` tokens derived from `prompt`. The first has no leading space, the rest do, so
    /// concatenating them gives the text.
    public static func tokens(for prompt: String, count: Int) -> [String] {
        var generator = SplitMix64(seed: hash(prompt))
        var tokens: [String] = []
        tokens.reserveCapacity(count)
        for index in 0..<max(0, count) {
            let word = vocabulary[Int(generator.next() % UInt64(vocabulary.count))]
            tokens.append(index == 0 ? word : " " + word)
        }
        return tokens
    }

    /// The next `count` tokens of the answer to `prompt` after `partial` (a stream continued on
    /// another node). When `partial` is the answer's own first k tokens, these are tokens
    /// k..<k+count, so the continued answer equals the uninterrupted one; any other text gets
    /// tokens derived from prompt and partial. Each has a leading space unless `partial` is empty.
    public static func continuation(of partial: String, for prompt: String, count: Int) -> [String] {
        guard !partial.isEmpty else { return tokens(for: prompt, count: count) }
        var generator = SplitMix64(seed: hash(prompt))
        var text = ""
        // Each token adds at least one byte, so this ends within partial's length.
        while text.utf8.count < partial.utf8.count {
            let word = vocabulary[Int(generator.next() % UInt64(vocabulary.count))]
            text += text.isEmpty ? word : " " + word
        }
        if text != partial {
            generator = SplitMix64(seed: hash(prompt + "\u{1}" + partial))
        }
        return (0..<max(0, count)).map { _ in
            " " + vocabulary[Int(generator.next() % UInt64(vocabulary.count))]
        }
    }

    /// A text of `count` words for bytes (a transcription of an upload).
    public static func words(forBytes bytes: some Sequence<UInt8>, count: Int) -> String {
        var generator = SplitMix64(seed: hash(bytes))
        return (0..<max(1, count)).map { _ in vocabulary[Int(generator.next() % UInt64(vocabulary.count))] }
            .joined(separator: " ")
    }

    /// A rough token count for a prompt: whitespace-separated words (at least 1 for non-empty text).
    public static func tokenCount(_ text: String) -> Int {
        var count = 0
        var inWord = false
        for byte in text.utf8 {
            let space = byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D
            if !space && !inWord { count += 1 }
            inWord = !space
        }
        return count
    }

    /// A unit vector of `dimension` components for `text` (L2 norm 1).
    public static func embedding(for text: String, dimension: Int) -> [Float] {
        var generator = SplitMix64(seed: hash(text, seed: 0x5eed))
        var values = [Double](repeating: 0, count: dimension)
        var sumOfSquares = 0.0
        for index in 0..<dimension {
            // Uniform in [-1, 1); the norm below makes the direction, not the scale, matter.
            let value = Double(generator.next() >> 11) * 0x1.0p-52 - 1
            values[index] = value
            sumOfSquares += value * value
        }
        let norm = sumOfSquares.squareRoot()
        guard norm > 0 else {
            var unit = [Float](repeating: 0, count: dimension)
            if dimension > 0 { unit[0] = 1 }
            return unit
        }
        return values.map { Float($0 / norm) }
    }
}

/// SplitMix64: a tiny, fast, well-mixed sequence from one seed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
