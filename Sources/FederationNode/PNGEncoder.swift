/// A minimal PNG encoder: 8-bit RGB, no compression (zlib stored blocks), correct CRCs.
/// Enough to hand back a valid image without a dependency.
public enum PNGEncoder {
    /// Encodes `width × height` RGB pixels (`rgb.count == width * height * 3`, row-major).
    public static func encode(width: Int, height: Int, rgb: [UInt8]) -> [UInt8] {
        precondition(
            width > 0 && height > 0 && rgb.count == width * height * 3, "pixel data does not match size")
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header: [UInt8] = []
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        header += [8, 2, 0, 0, 0]  // bit depth 8, colour type RGB, deflate, adaptive filter, no interlace
        appendChunk("IHDR", header, to: &png)

        // Each scanline starts with filter type 0 (none).
        var raw: [UInt8] = []
        raw.reserveCapacity(height * (width * 3 + 1))
        for row in 0..<height {
            raw.append(0)
            raw += rgb[(row * width * 3)..<((row + 1) * width * 3)]
        }
        appendChunk("IDAT", zlibStored(raw), to: &png)
        appendChunk("IEND", [], to: &png)
        return png
    }

    /// A deterministic picture for a prompt: a diagonal gradient in two colours picked by its hash.
    public static func picture(for prompt: String, width: Int, height: Int) -> [UInt8] {
        let hash = DeterministicText.hash(prompt)
        let from = [
            UInt8(truncatingIfNeeded: hash), UInt8(truncatingIfNeeded: hash >> 8),
            UInt8(truncatingIfNeeded: hash >> 16),
        ]
        let to = [
            UInt8(truncatingIfNeeded: hash >> 24), UInt8(truncatingIfNeeded: hash >> 32),
            UInt8(truncatingIfNeeded: hash >> 40),
        ]
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        let span = max(1, width + height - 2)
        for y in 0..<height {
            for x in 0..<width {
                let t = (x + y) * 255 / span
                for channel in 0..<3 {
                    let value = (Int(from[channel]) * (255 - t) + Int(to[channel]) * t) / 255
                    rgb[(y * width + x) * 3 + channel] = UInt8(value)
                }
            }
        }
        return encode(width: width, height: height, rgb: rgb)
    }

    static func appendChunk(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
        png.appendBigEndian(UInt32(data.count))
        let typeAndData = Array(type.utf8) + data
        png += typeAndData
        png.appendBigEndian(CRC32.checksum(typeAndData))
    }

    /// zlib container around deflate "stored" (uncompressed) blocks of at most 65535 bytes.
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]  // deflate, 32 KiB window, no dictionary; (0x7801 % 31 == 0)
        var offset = 0
        repeat {
            let length = min(65_535, data.count - offset)
            let isFinal = offset + length == data.count
            out.append(isFinal ? 1 : 0)  // BFINAL, BTYPE = 00
            out.append(UInt8(length & 0xFF))
            out.append(UInt8(length >> 8))
            out.append(UInt8(~length & 0xFF))
            out.append(UInt8((~length >> 8) & 0xFF))
            out += data[offset..<(offset + length)]
            offset += length
        } while offset < data.count
        out.appendBigEndian(adler32(data))
        return out
    }

    static func adler32(_ data: [UInt8]) -> UInt32 {
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return (b << 16) | a
    }
}

/// CRC-32 (IEEE 802.3, as PNG and zip use it).
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        return crc
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [
            UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF),
        ])
    }

    mutating func appendLittleEndian(_ value: UInt32) {
        append(contentsOf: [
            UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF), UInt8(value >> 24),
        ])
    }

    mutating func appendLittleEndian(_ value: UInt16) {
        append(contentsOf: [UInt8(value & 0xFF), UInt8(value >> 8)])
    }
}
