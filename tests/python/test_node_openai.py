"""The official `openai` package against a real federation-node."""

import math
import time

from conftest import EMBEDDING_DIMENSION, TOKENS_PER_SECOND


def test_chat_completion(client):
    response = client.chat.completions.create(
        model="fed-chat",
        messages=[{"role": "user", "content": "Say something about rivers"}],
        max_tokens=6,
    )
    assert response.object == "chat.completion"
    assert response.id.startswith("chatcmpl-")
    assert response.model == "fed-chat"
    choice = response.choices[0]
    assert choice.message.role == "assistant"
    assert choice.finish_reason == "length"
    assert len(choice.message.content.split()) == 6
    assert response.usage.completion_tokens == 6
    assert response.usage.total_tokens == response.usage.prompt_tokens + 6

    again = client.chat.completions.create(
        model="fed-chat",
        messages=[{"role": "user", "content": "Say something about rivers"}],
        max_tokens=6,
    )
    assert again.choices[0].message.content == choice.message.content


def test_chat_stream_arrives_incrementally(client):
    token_count = 10
    arrivals = []
    pieces = []
    finish_reasons = []
    stream = client.chat.completions.create(
        model="fed-chat",
        messages=[{"role": "user", "content": "Stream me a story"}],
        max_tokens=token_count,
        stream=True,
    )
    for chunk in stream:
        assert chunk.object == "chat.completion.chunk"
        delta = chunk.choices[0].delta
        if delta.content:
            arrivals.append(time.monotonic())
            pieces.append(delta.content)
        finish_reasons.append(chunk.choices[0].finish_reason)

    assert len(pieces) == token_count
    assert finish_reasons[-1] == "length"
    assert all(reason is None for reason in finish_reasons[:-1])
    # Tokens arrive one by one, in order, spread over time: the node paces them at TOKENS_PER_SECOND,
    # so the first arrives well before the last (a floor set by the server, not a speed threshold).
    assert arrivals == sorted(arrivals)
    spread = arrivals[-1] - arrivals[0]
    assert spread >= 0.5 * (token_count - 1) / TOKENS_PER_SECOND
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:])]
    assert sum(1 for gap in gaps if gap > 0) >= token_count // 2

    whole = client.chat.completions.create(
        model="fed-chat",
        messages=[{"role": "user", "content": "Stream me a story"}],
        max_tokens=token_count,
    )
    assert "".join(pieces) == whole.choices[0].message.content


def test_embeddings(client):
    first = client.embeddings.create(model="fed-embed", input=["alpha", "beta"])
    assert len(first.data) == 2
    for item in first.data:
        assert len(item.embedding) == EMBEDDING_DIMENSION
        assert math.isclose(math.sqrt(sum(x * x for x in item.embedding)), 1.0, rel_tol=1e-4)
    assert first.data[0].embedding != first.data[1].embedding

    second = client.embeddings.create(model="fed-embed", input="alpha")
    assert second.data[0].embedding == first.data[0].embedding

    floats = client.embeddings.create(model="fed-embed", input="alpha", encoding_format="float")
    assert all(math.isclose(a, b, rel_tol=1e-6) for a, b in zip(floats.data[0].embedding, first.data[0].embedding))


def test_unknown_model_is_404(client):
    import openai

    try:
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    except openai.NotFoundError as error:
        assert error.status_code == 404
        assert error.body["code"] == "model_not_found"
    else:
        raise AssertionError("expected a 404")


def test_bad_role_is_rejected_as_openai_does(client):
    import openai

    try:
        client.chat.completions.create(model="fed-chat", messages=[{"role": "wizard", "content": "x"}])
    except openai.BadRequestError as error:
        assert error.status_code == 400
        assert error.body["param"] == "messages[0].role"
        assert error.body["code"] == "invalid_value"
        assert "'wizard'" in error.body["message"]
    else:
        raise AssertionError("expected a 400 for role 'wizard'")


def test_out_of_range_temperature_is_rejected(client):
    import openai

    try:
        client.chat.completions.create(
            model="fed-chat", messages=[{"role": "user", "content": "x"}], temperature=99
        )
    except openai.BadRequestError as error:
        assert error.body["param"] == "temperature"
        assert error.body["code"] == "decimal_above_max_value"
    else:
        raise AssertionError("expected a 400 for temperature 99")


def test_n_gives_that_many_choices(client):
    reply = client.chat.completions.create(
        model="fed-chat", messages=[{"role": "user", "content": "two please"}], n=2, max_tokens=3
    )
    assert [choice.index for choice in reply.choices] == [0, 1]
    assert all(choice.message.content for choice in reply.choices)
    assert reply.usage.completion_tokens == 6

    texts = client.completions.create(model="fed-chat", prompt="two please", n=2, max_tokens=3)
    assert [choice.index for choice in texts.choices] == [0, 1]
    assert texts.usage.completion_tokens == 6
