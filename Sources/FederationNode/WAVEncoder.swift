#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A minimal WAV (RIFF, 16-bit PCM, mono) encoder.
public enum WAVEncoder {
    /// Wraps 16-bit mono samples in a RIFF/WAVE container.
    public static func encode(samples: [Int16], sampleRate: Int) -> [UInt8] {
        let dataBytes = samples.count * 2
        var wav: [UInt8] = []
        wav.reserveCapacity(44 + dataBytes)
        wav += Array("RIFF".utf8)
        wav.appendLittleEndian(UInt32(36 + dataBytes))
        wav += Array("WAVE".utf8)
        wav += Array("fmt ".utf8)
        wav.appendLittleEndian(UInt32(16))  // PCM format chunk size
        wav.appendLittleEndian(UInt16(1))  // PCM
        wav.appendLittleEndian(UInt16(1))  // mono
        wav.appendLittleEndian(UInt32(sampleRate))
        wav.appendLittleEndian(UInt32(sampleRate * 2))  // byte rate
        wav.appendLittleEndian(UInt16(2))  // block align
        wav.appendLittleEndian(UInt16(16))  // bits per sample
        wav += Array("data".utf8)
        wav.appendLittleEndian(UInt32(dataBytes))
        for sample in samples { wav.appendLittleEndian(UInt16(bitPattern: sample)) }
        return wav
    }

    /// Deterministic "speech" for a text: one short tone per word (pitch from the word's hash),
    /// 0.15 s per word, at most 3 s, 16 kHz.
    public static func speech(for text: String, sampleRate: Int = 16_000) -> [UInt8] {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).prefix(20)
        let perWord = sampleRate * 15 / 100
        var samples: [Int16] = []
        samples.reserveCapacity(max(1, words.count) * perWord)
        for word in words.isEmpty ? [Substring("")] : Array(words) {
            let frequency = 200 + Double(DeterministicText.hash(String(word)) % 600)
            for index in 0..<perWord {
                let t = Double(index) / Double(sampleRate)
                let envelope = min(1, Double(min(index, perWord - index)) / 200)  // no clicks
                samples.append(Int16(8_000 * envelope * sin(2 * Double.pi * frequency * t)))
            }
        }
        return encode(samples: samples, sampleRate: sampleRate)
    }
}
