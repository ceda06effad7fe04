"""A stream that survives its node: real processes, a node that really exits mid-stream, the
official `openai` client reading the stream through the gateway (`gateway.resume_streams`)."""

import time
import urllib.request

import openai
import pytest

from conftest import Processes, _binary, _free_port

PROMPT = [{"role": "user", "content": "Tell me about rivers"}]
TOKENS = 24


@pytest.fixture(scope="module")
def resuming_federation(tmp_path_factory):
    """redis, catalog, router, health, a gateway with resume_streams on, and two self-registering nodes
    serving the same model; node `crasher` exits (status 70) after the 6th token of a stream."""
    root = tmp_path_factory.mktemp("resume")
    processes = Processes(root)
    start = processes.start
    try:
        redis_port = processes.redis()
        config = root / "federation.yaml"
        config.write_text("gateway:\n  resume_streams: true\n")
        common = ["--config", str(config), "--redis-url", f"redis://127.0.0.1:{redis_port}",
                  "--namespace", "resume"]
        ports = {name: _free_port() for name in ["catalog", "router", "health", "gateway"]}
        for name in ["catalog", "router", "health"]:
            start(name, [str(_binary(f"federation-{name}")), "--port", str(ports[name]), *common],
                  f"http://127.0.0.1:{ports[name]}")
        catalog = f"http://127.0.0.1:{ports['catalog']}"
        nodes = {}
        for node_id, extra in [("crasher", ["--crash-after-tokens", "6"]), ("steady", [])]:
            port = _free_port()
            nodes[node_id] = f"http://127.0.0.1:{port}"
            start(node_id, [str(_binary()), "--port", str(port), "--node-id", node_id,
                            "--tokens-per-second", "100", "--model", "llama-3-8b=generate+code",
                            "--register-url", catalog, *extra], nodes[node_id])
        gateway = f"http://127.0.0.1:{ports['gateway']}"
        start("gateway", [str(_binary("federation-gateway")), "--port", str(ports["gateway"]), *common],
              gateway, "/readyz")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with urllib.request.urlopen(gateway + "/v1/nodes", timeout=2) as response:
                listed = response.read()
            if b"crasher" in listed and b"steady" in listed:
                break
            time.sleep(0.1)
        yield {"gateway": gateway, "nodes": nodes, "processes": processes.by_name, "root": root}
    finally:
        processes.stop_all()
        print(f"resume federation logs: {root}")


def streamed_text(client) -> str:
    text = ""
    stream = client.chat.completions.create(
        model="llama-3-8b", messages=PROMPT, max_tokens=TOKENS, stream=True)
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
    return text


def test_a_node_that_dies_mid_stream_is_continued_with_no_token_lost_or_repeated(resuming_federation):
    gateway = resuming_federation["gateway"]
    crasher = resuming_federation["processes"]["crasher"]
    # The uninterrupted answer, straight from the steady node (the text depends on the prompt only).
    direct = openai.OpenAI(base_url=resuming_federation["nodes"]["steady"] + "/v1", api_key="x",
                           max_retries=0, timeout=30)
    reference = streamed_text(direct)
    assert len(reference.split()) == TOKENS
    client = openai.OpenAI(base_url=gateway + "/v1", api_key="x", max_retries=0, timeout=30)
    texts = []
    # Whatever the strategy, the crasher serves one of these until it has died.
    for _ in range(6):
        texts.append(streamed_text(client))
        if crasher.poll() is not None:
            break
    assert crasher.wait(timeout=10) == 70, "the crasher exited on purpose, mid-stream"
    assert texts and all(text == reference for text in texts), (reference, texts)
    with urllib.request.urlopen(gateway + "/metrics", timeout=5) as response:
        metrics = response.read().decode()
    assert "federation_gateway_streams_resumed_total 1" in metrics
    # Afterwards the crasher is gone and the other node serves alone.
    assert streamed_text(client) == reference
