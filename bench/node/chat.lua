-- wrk script: a non-streamed chat completion against federation-node.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"fed-chat","messages":[{"role":"user","content":"Hello, how are you today?"}],"max_tokens":16}'
