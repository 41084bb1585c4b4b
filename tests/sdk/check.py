"""Feeds the inbound translators' golden output (crates/switchyard-providers/tests/fixtures/
inbound/golden/, which `cargo test -p switchyard-providers --test inbound` keeps equal to what
the translators write) to the official SDKs through a loopback listener, and checks the SDK
objects they build. Offline once the venv exists; see tests/sdk/README.md.

    .venv/bin/python tests/sdk/check.py
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from listener import Listener  # noqa: E402

import anthropic  # noqa: E402
import openai  # noqa: E402

GOLDEN = pathlib.Path(__file__).resolve().parents[2] / "crates/switchyard-providers/tests/fixtures/inbound/golden"
USER = [{"role": "user", "content": "What is the capital of France?"}]
passed = 0
failed = 0


def golden(name):
    return (GOLDEN / name).read_bytes()


def check(name, fn):
    global passed, failed
    try:
        fn()
        passed += 1
        print(f"ok   {name}")
    except Exception as e:  # noqa: BLE001 - report every failure, keep going
        failed += 1
        print(f"FAIL {name}: {type(e).__name__}: {e}")


def main():
    lst = Listener()
    a = anthropic.Anthropic(api_key="k", base_url=lst.url, max_retries=0)
    o = openai.OpenAI(api_key="k", base_url=lst.url + "/v1", max_retries=0)
    sse = "text/event-stream"

    def messages_text():
        lst.answer(golden("messages_completion_text.json"))
        m = a.messages.create(model="m", max_tokens=10, messages=USER)
        assert m.content[0].text == "The capital of France is Paris.", m
        assert m.stop_reason == "end_turn" and m.usage.cache_read_input_tokens == 1024, m

    def messages_tools():
        lst.answer(golden("messages_completion_tools.json"))
        m = a.messages.create(model="m", max_tokens=10, messages=USER)
        calls = [b for b in m.content if b.type == "tool_use"]
        assert m.stop_reason == "tool_use" and calls[1].input == {"city": "Rome"}, m

    def messages_stream_text():
        lst.answer(golden("messages_stream_text.sse"), sse)
        with a.messages.stream(model="m", max_tokens=10, messages=USER) as s:
            texts = list(s.text_stream)
            m = s.get_final_message()
        assert "".join(texts) == "The capital of France is Paris — «Paris» 🗼.", texts
        assert m.content[0].text == "".join(texts) and m.stop_reason == "end_turn", m
        assert m.usage.input_tokens == 12 and m.usage.output_tokens == 12, m.usage

    def messages_stream_tools():
        lst.answer(golden("messages_stream_tools.sse"), sse)
        with a.messages.stream(model="m", max_tokens=10, messages=USER) as s:
            m = s.get_final_message()
        assert [b.type for b in m.content] == ["text", "tool_use", "tool_use"], m
        assert m.content[1].input == {"city": "Paris"} and m.content[2].input == {"city": "Rome"}, m
        assert m.stop_reason == "tool_use" and m.usage.output_tokens == 17, m

    def messages_stream_error():
        lst.answer(golden("messages_stream_error.sse"), sse)
        try:
            with a.messages.stream(model="m", max_tokens=10, messages=USER) as s:
                s.get_final_message()
        except anthropic.APIStatusError as e:
            assert "Overloaded" in str(e), e
            return
        raise AssertionError("no error raised")

    def messages_error_body():
        lst.answer(b'{"type":"error","error":{"type":"rate_limit_error","message":"Rate limited"}}', status=429)
        try:
            a.messages.create(model="m", max_tokens=10, messages=USER)
        except anthropic.RateLimitError as e:
            assert e.body["error"]["type"] == "rate_limit_error", e.body
            return
        raise AssertionError("no error raised")

    def responses_text():
        lst.answer(golden("responses_completion_text.json"))
        r = o.responses.create(model="m", input="hi")
        assert r.output_text == "The capital of France is Paris.", r
        assert r.usage.input_tokens_details.cached_tokens == 1024 and r.status == "completed", r

    def responses_tools():
        lst.answer(golden("responses_completion_tools.json"))
        r = o.responses.create(model="m", input="hi")
        calls = [i for i in r.output if i.type == "function_call"]
        assert [c.call_id for c in calls] == ["call_abc123", "call_def456"], r
        assert calls[0].arguments == '{"city":"Paris"}' and r.output_text == "Checking both cities.", r

    def responses_stream_text():
        lst.answer(golden("responses_stream_text.sse"), sse)
        with o.responses.stream(model="m", input="hi") as s:
            deltas = [e.delta for e in s if e.type == "response.output_text.delta"]
            r = s.get_final_response()
        assert "".join(deltas) == r.output_text == "The capital of France is Paris — «Paris» 🗼.", r
        assert r.usage.total_tokens == 32 and r.usage.output_tokens_details.reasoning_tokens == 4, r.usage

    def responses_stream_tools():
        lst.answer(golden("responses_stream_tools.sse"), sse)
        with o.responses.stream(model="m", input="hi") as s:
            r = s.get_final_response()
        calls = [i for i in r.output if i.type == "function_call"]
        assert [c.arguments for c in calls] == ['{"city":"Paris"}', '{"city":"Rome"}'], r
        assert r.output_text == "Checking both.", r

    def responses_stream_raw():
        lst.answer(golden("responses_stream_tools.sse"), sse)
        types = [e.type for e in o.responses.create(model="m", input="hi", stream=True)]
        assert types[0] == "response.created" and types[-1] == "response.completed", types

    def responses_stream_error():
        lst.answer(golden("responses_stream_error.sse"), sse)
        events = list(o.responses.create(model="m", input="hi", stream=True))
        assert events[-2].type == "error" and events[-2].message == "Overloaded", events[-2]
        assert events[-1].type == "response.failed" and events[-1].response.error.message == "Overloaded", events[-1]

    for name, fn in list(locals().items()):
        if callable(fn) and name not in ("lst", "a", "o"):
            check(name, fn)
    lst.close()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
