"""The official `openai` package against a real federation-gateway in front of real nodes."""

import time

import openai
import pytest


def test_chat_through_the_gateway_names_the_node_that_served_it(gateway_client):
    raw = gateway_client.chat.completions.with_raw_response.create(
        model="llama-3-8b", messages=[{"role": "user", "content": "Hello"}], max_tokens=6
    )
    completion = raw.parse()
    assert completion.choices[0].message.content
    assert completion.usage.completion_tokens == 6
    assert raw.headers["x-federation-node"] in ("py-gen-01", "py-embed-01")
    assert raw.headers["x-federation-attempts"] == "1"
    assert float(raw.headers["x-federation-overhead-ms"]) >= 0


def test_a_streamed_chat_arrives_incrementally(gateway_client):
    arrivals = []
    text = ""
    stream = gateway_client.chat.completions.create(
        model="llama-3-8b", messages=[{"role": "user", "content": "Hello"}], max_tokens=10, stream=True
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic())
            text += chunk.choices[0].delta.content
    assert len(arrivals) == 10
    # The node paces 20 tokens/s: relayed frame by frame, the first arrives long before the last.
    assert arrivals[-1] - arrivals[0] > 0.25, arrivals
    assert len(text.split()) == 10


def test_embeddings_go_to_the_node_that_has_the_model(gateway_client):
    raw = gateway_client.embeddings.with_raw_response.create(model="bge-small", input=["a", "b"])
    response = raw.parse()
    assert [item.index for item in response.data] == [0, 1]
    assert raw.headers["x-federation-node"] == "py-embed-01"


def test_an_unknown_model_raises_not_found(gateway_client):
    with pytest.raises(openai.NotFoundError) as caught:
        gateway_client.chat.completions.create(model="gpt-17", messages=[{"role": "user", "content": "x"}])
    assert caught.value.body["code"] == "model_not_found"


def test_a_bad_federation_header_raises_bad_request(gateway_client):
    with pytest.raises(openai.BadRequestError) as caught:
        gateway_client.chat.completions.create(
            model="llama-3-8b", messages=[{"role": "user", "content": "x"}],
            extra_headers={"X-Federation-Privacy": "top-secret"},
        )
    assert caught.value.body["param"] == "X-Federation-Privacy"


def test_the_models_list_is_the_federations(gateway_client):
    ids = sorted(model.id for model in gateway_client.models.list())
    assert ids == ["bge-small", "llama-3-8b"]
