import FederationNode
import Foundation
import Testing

@Suite("Embeddings, audio, images, models and health")
struct MediaTests {
    @Test("embeddings are deterministic unit vectors of the configured dimension")
    func embeddings() async throws {
        try await withNode({ $0.embeddingDimension = 32 }) { node in
            let reply = try await node.post(
                "/v1/embeddings", json: #"{"model":"fed-embed","input":["alpha","beta","alpha"]}"#)
            #expect(reply.status == 200)
            #expect(reply.json["object"]?.stringValue == "list")
            let data = try #require(reply.json["data"]?.arrayValue)
            #expect(data.count == 3)
            let vectors = data.map { $0["embedding"]?.arrayValue?.compactMap(\.doubleValue) ?? [] }
            for vector in vectors {
                #expect(vector.count == 32)
                #expect(abs(vector.map { $0 * $0 }.reduce(0, +) - 1) < 1e-4)
            }
            #expect(vectors[0] == vectors[2])
            #expect(vectors[0] != vectors[1])
            #expect(data[1]["index"]?.intValue == 1)
            #expect(reply.json["usage"]?["prompt_tokens"]?.intValue == 3)
        }
    }

    @Test("base64 embeddings are little-endian float32, as the openai package decodes them")
    func base64Embeddings() async throws {
        try await withNode { node in
            let reply = try await node.post(
                "/v1/embeddings",
                json: #"{"model":"fed-embed","input":"alpha","encoding_format":"base64","dimensions":8}"#)
            let encoded = try #require(reply.json["data"]?[0]?["embedding"]?.stringValue)
            let bytes = try #require(Data(base64Encoded: encoded))
            #expect(bytes.count == 32)
            let floats = stride(from: 0, to: bytes.count, by: 4).map { offset in
                Float(
                    bitPattern: bytes[offset..<offset + 4].enumerated().reduce(UInt32(0)) {
                        $0 | UInt32($1.element) << (8 * $1.offset)
                    })
            }
            #expect(floats == DeterministicText.embedding(for: "alpha", dimension: 8))
        }
    }

    @Test("a transcription of a multipart upload is text derived from the bytes")
    func transcription() async throws {
        try await withNode { node in
            func transcribe(_ audio: [UInt8], model: String = "fed-whisper") async throws -> NodeClient.Reply
            {
                let boundary = "----fednode-test"
                var body = Array(
                    "--\(boundary)\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n\(model)\r\n".utf8
                )
                body += Array(
                    "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n"
                        .utf8)
                body += audio + Array("\r\n--\(boundary)--\r\n".utf8)
                return try await node.request(
                    .POST, "/v1/audio/transcriptions", body: body,
                    contentType: "multipart/form-data; boundary=\(boundary)")
            }
            let audio = WAVEncoder.speech(for: "hello world")
            let first = try await transcribe(audio)
            #expect(first.status == 200)
            let text = try #require(first.json["text"]?.stringValue)
            #expect(!text.isEmpty)
            #expect(try await transcribe(audio).json["text"]?.stringValue == text)
            #expect(try await transcribe([1, 2, 3]).json["text"]?.stringValue != text)
            #expect(try await transcribe(audio, model: "nope").status == 404)
            let notMultipart = try await node.post("/v1/audio/transcriptions", json: "{}")
            #expect(notMultipart.status == 400)
        }
    }

    @Test("speech is a valid WAV file")
    func speech() async throws {
        try await withNode { node in
            let reply = try await node.post(
                "/v1/audio/speech", json: #"{"model":"fed-tts","input":"good morning","voice":"alloy"}"#)
            #expect(reply.status == 200)
            #expect(reply.headers.first(name: "Content-Type") == "audio/wav")
            let wav = reply.bytes
            #expect(Array(wav[0..<4]) == Array("RIFF".utf8))
            #expect(Array(wav[8..<12]) == Array("WAVE".utf8))
            let riffSize = Int(wav[4]) | Int(wav[5]) << 8 | Int(wav[6]) << 16 | Int(wav[7]) << 24
            #expect(riffSize == wav.count - 8)
            #expect(wav.count > 44)
        }
    }

    @Test("image generation returns a valid base64 PNG in the OpenAI shape")
    func image() async throws {
        try await withNode { node in
            let reply = try await node.post(
                "/v1/images/generations", json: #"{"prompt":"a red fox","size":"16x8","n":2}"#)
            #expect(reply.status == 200)
            let data = try #require(reply.json["data"]?.arrayValue)
            #expect(data.count == 2)
            let png = try #require(Data(base64Encoded: data[0]["b64_json"]?.stringValue ?? ""))
            #expect(PNGCheck.isValid(Array(png)))
            #expect(PNGCheck.size(Array(png)) == (16, 8))
        }
    }

    @Test("/v1/models lists the served models; /health and /healthz report the node")
    func modelsAndHealth() async throws {
        try await withNode({
            $0.nodeId = "eu-gpu-7"
            $0.region = "eu-west"
            $0.gpu = true
            $0.models = [
                ServedModel(name: "m1", capabilities: [.generate]),
                ServedModel(name: "m2", capabilities: [.custom("ocr")]),
            ]
        }) { node in
            let models = try await node.get("/v1/models").json
            #expect(models["object"]?.stringValue == "list")
            #expect(models["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["m1", "m2"])
            #expect(models["data"]?[1]?["capabilities"]?[0]?.stringValue == "custom:ocr")
            let health = try await node.get("/health")
            #expect(health.status == 200)
            #expect(health.json["status"]?.stringValue == "ok")
            #expect(health.json["node_id"]?.stringValue == "eu-gpu-7")
            #expect(health.json["region"]?.stringValue == "eu-west")
            #expect(health.json["gpu"]?.boolValue == true)
            #expect(
                health.json["capabilities"]?.arrayValue?.compactMap(\.stringValue) == [
                    "custom:ocr", "generate",
                ])
            #expect(health.json["queue_depth"]?.intValue == 0)
            #expect(health.json["in_flight"]?.intValue == 0)
            #expect(health.json["gpu_utilization"]?.doubleValue == 0)
            #expect(try await node.get("/healthz").status == 200)
        }
    }
}

/// Checks PNG structure: signature, chunk CRCs, IHDR size, and that the zlib stream's stored blocks add up.
enum PNGCheck {
    static func isValid(_ png: [UInt8]) -> Bool {
        guard png.count > 8, Array(png[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else {
            return false
        }
        var offset = 8
        var types: [String] = []
        while offset + 12 <= png.count {
            let length = Int(readUInt32(png, offset))
            let typeAndData = Array(png[(offset + 4)..<(offset + 8 + length)])
            let crc = readUInt32(png, offset + 8 + length)
            guard crc == crc32(typeAndData) else { return false }
            types.append(String(decoding: typeAndData[0..<4], as: UTF8.self))
            offset += 12 + length
        }
        return types.first == "IHDR" && types.last == "IEND" && types.contains("IDAT") && offset == png.count
    }

    static func size(_ png: [UInt8]) -> (Int, Int) {
        (Int(readUInt32(png, 16)), Int(readUInt32(png, 20)))
    }

    static func readUInt32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Bitwise CRC-32, independent of the encoder's table.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
        }
        return ~crc
    }
}
