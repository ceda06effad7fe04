import FederationCore
import FederationHTTP
import FederationOpenAI
import Foundation
import Hummingbird
import NIOCore

/// Embeddings, transcription, speech and image generation.
extension NodeRuntime {
    func embeddings(_ request: Request, gone: @autoclosure () -> ClientDisconnect?) async throws -> Response {
        let defaultDimension = configuration.embeddingDimension
        return try await serveInference(request, gone: gone()) { buffer in
            let body = try decodeJSON(EmbeddingRequest.self, from: buffer)
            let model = try self.model(named: body.model, for: [.embed])
            guard !body.input.texts.isEmpty else {
                throw OpenAIError.invalid(
                    "'input' must not be an empty array.", param: "input", code: "invalid_value")
            }
            let dimension =
                try requestInteger(body.dimensions, param: "dimensions", range: 1...65_536)
                ?? defaultDimension
            let format = body.encodingFormat ?? "float"
            guard format == "float" || format == "base64" else {
                throw OpenAIError.invalid(
                    "'encoding_format' must be 'float' or 'base64', got '\(format)'.",
                    param: "encoding_format",
                    code: "invalid_value")
            }
            return (model.name, body.input.texts, dimension, format == "base64")
        } respond: { parsed, permit in
            defer { permit.release() }
            let (model, inputs, dimension, base64) = parsed
            var data: [JSONValue] = []
            for (index, input) in inputs.enumerated() {
                let vector = DeterministicText.embedding(for: input, dimension: dimension)
                let embedding: JSONValue =
                    base64 ? .string(Self.base64(vector)) : .array(vector.map { .number(Double($0)) })
                data.append(["object": "embedding", "index": .number(Double(index)), "embedding": embedding])
            }
            let promptTokens = Double(inputs.map(DeterministicText.tokenCount).reduce(0, +))
            return try self.jsonResponse([
                "object": "list", "model": .string(model), "data": .array(data),
                "usage": ["prompt_tokens": .number(promptTokens), "total_tokens": .number(promptTokens)],
            ])
        }
    }

    /// Little-endian float32s in base64, as the official clients decode them.
    static func base64(_ vector: [Float]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(vector.count * 4)
        for value in vector { bytes.appendLittleEndian(value.bitPattern) }
        return Data(bytes).base64EncodedString()
    }

    func transcription(
        _ request: Request, gone: @autoclosure () -> ClientDisconnect?
    ) async throws -> Response {
        let contentType = request.headers[.contentType] ?? ""
        return try await serveInference(request, gone: gone()) { buffer in
            guard let boundary = MultipartFormData.boundary(fromContentType: contentType) else {
                throw OpenAIError.invalid(
                    "Expected a multipart/form-data body with a boundary (got Content-Type '\(contentType)').",
                    param: nil, code: "invalid_content_type")
            }
            let form: MultipartFormData
            do {
                form = try MultipartFormData(body: Array(buffer.readableBytesView), boundary: boundary)
            } catch let error as MultipartError {
                throw OpenAIError.invalid(
                    "Malformed multipart body: \(error.message).", param: nil, code: "invalid_multipart")
            }
            guard let file = form["file"], file.filename != nil || !file.body.isEmpty else {
                throw OpenAIError.invalid(
                    "Missing required parameter: 'file'.", param: "file", code: "missing_required_parameter")
            }
            guard let modelName = form["model"]?.text else {
                throw OpenAIError.invalid(
                    "Missing required parameter: 'model'.", param: "model", code: "missing_required_parameter"
                )
            }
            _ = try self.model(named: modelName, for: [.transcribe])
            let format = form["response_format"]?.text ?? "json"
            guard ["json", "text", "verbose_json"].contains(format) else {
                throw OpenAIError.invalid(
                    "'response_format' must be json, text or verbose_json, got '\(format)'.",
                    param: "response_format", code: "invalid_value")
            }
            return (file.body, format)
        } respond: { (parsed: ([UInt8], String), permit) in
            defer { permit.release() }
            let (audio, format) = parsed
            // One word per KiB of audio, 3…48 words.
            let text = DeterministicText.words(forBytes: audio, count: min(48, max(3, audio.count / 1024)))
            if format == "text" {
                return Response(
                    status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(string: text)))
            }
            return try self.jsonResponse(["text": .string(text)])
        }
    }

    func speech(_ request: Request, gone: @autoclosure () -> ClientDisconnect?) async throws -> Response {
        try await serveInference(request, gone: gone()) { buffer in
            let body = try decodeJSON(SpeechRequest.self, from: buffer)
            _ = try self.model(named: body.model, for: [.synthesize])
            guard !body.input.isEmpty else {
                throw OpenAIError.invalid("'input' must not be empty.", param: "input", code: "invalid_value")
            }
            if let format = body.responseFormat, format != "wav" {
                throw OpenAIError.invalid(
                    "This node only produces 'wav'; got response_format '\(format)'.",
                    param: "response_format",
                    code: "unsupported_value")
            }
            return body.input
        } respond: { input, permit in
            defer { permit.release() }
            let wav = WAVEncoder.speech(for: input)
            return Response(
                status: .ok, headers: [.contentType: "audio/wav"],
                body: .init(byteBuffer: ByteBuffer(bytes: wav)))
        }
    }

    /// What an image request asked for, once validated.
    struct ImageJob: Sendable {
        let model: String
        let prompt: String
        let count: Int
        let width: Int
        let height: Int
        let asURL: Bool
    }

    func imageGeneration(
        _ request: Request, gone: @autoclosure () -> ClientDisconnect?
    ) async throws -> Response {
        try await serveInference(request, gone: gone()) { buffer in
            let body = try decodeJSON(ImageRequest.self, from: buffer)
            let model =
                try body.model.map { try self.model(named: $0, for: [.imageGen]) }
                ?? self.defaultModel(for: .imageGen)
            guard !body.prompt.isEmpty else {
                throw OpenAIError.invalid(
                    "'prompt' must not be empty.", param: "prompt", code: "invalid_value")
            }
            let count = try requestInteger(body.n, param: "n", range: 1...4) ?? 1
            let (width, height) = try Self.imageSize(body.size)
            let format = body.responseFormat ?? "b64_json"
            guard format == "b64_json" || format == "url" else {
                throw OpenAIError.invalid(
                    "'response_format' must be b64_json or url, got '\(format)'.", param: "response_format",
                    code: "invalid_value")
            }
            return ImageJob(
                model: model.name, prompt: body.prompt, count: count, width: width, height: height,
                asURL: format == "url")
        } respond: { job, permit in
            defer { permit.release() }
            var data: [JSONValue] = []
            for index in 0..<job.count {
                let png = PNGEncoder.picture(
                    for: "\(index):\(job.prompt)", width: job.width, height: job.height)
                let encoded = Data(png).base64EncodedString()
                data.append(
                    job.asURL
                        ? [
                            "url": .string("data:image/png;base64," + encoded),
                            "revised_prompt": .string(job.prompt),
                        ]
                        : ["b64_json": .string(encoded), "revised_prompt": .string(job.prompt)])
            }
            return try self.jsonResponse([
                "created": .number(Double(self.now)), "model": .string(job.model), "data": .array(data),
            ])
        }
    }

    /// `WIDTHxHEIGHT`; the picture is at most 256×256 whatever was asked (default 64×64), to stay small.
    static func imageSize(_ size: String?) throws -> (Int, Int) {
        guard let size else { return (64, 64) }
        let parts = size.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts.allSatisfy({ $0 > 0 && $0 <= 8192 }) else {
            throw OpenAIError.invalid(
                "'size' must look like 256x256, got '\(size)'.", param: "size", code: "invalid_value")
        }
        return (min(parts[0], 256), min(parts[1], 256))
    }

    /// A JSON response from a `JSONValue`.
    func jsonResponse(_ value: JSONValue, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
