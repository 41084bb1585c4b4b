"""Captures the exact request bodies the official SDKs send for the inbound APIs and writes
them as fixtures under crates/switchyard-providers/tests/fixtures/inbound/sdk/.

Run (offline once the venv exists; see tests/sdk/README.md):
    .venv/bin/python tests/sdk/capture.py
"""

import base64
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from listener import Listener  # noqa: E402

import anthropic  # noqa: E402
import openai  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/switchyard-providers/tests/fixtures/inbound/sdk"
KEPT_HEADERS = ["anthropic-version", "anthropic-beta", "content-type", "x-stainless-lang", "x-stainless-package-version"]

# 1x1 PNG and a two-page minimal PDF, small enough to read in a fixture.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
PDF = base64.b64encode(b"%PDF-1.4\n1 0 obj <</Type /Pages /Count 2>>\n2 0 obj <</Type /Page>>\n3 0 obj <</Type /Page>>\n%%EOF").decode()

MESSAGE = json.dumps({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn", "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}})
MESSAGE_SSE = (
    'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":0}}}\n\n'
    'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":1}}\n\n'
    'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)
RESPONSE = json.dumps({"id": "resp_1", "object": "response", "created_at": 1, "status": "completed", "model": "gpt-4.1-mini", "output": [], "parallel_tool_calls": True, "tool_choice": "auto", "tools": []})
RESPONSE_SSE = (
    'event: response.created\ndata: {"type":"response.created","sequence_number":0,"response":' + RESPONSE.replace('"completed"', '"in_progress"') + "}\n\n"
    'event: response.completed\ndata: {"type":"response.completed","sequence_number":1,"response":' + RESPONSE + "}\n\n"
)

WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False}


def save(name, sdk, call, req):
    fixture = {
        "_source": f"{sdk} {call}, captured by tests/sdk/capture.py against a loopback listener",
        "method": req["method"],
        "path": req["path"],
        "headers": {k: v for k, v in sorted(req["headers"].items()) if k.lower() in KEPT_HEADERS},
        "body": req["body"],
    }
    (OUT / f"{name}.json").write_text(json.dumps(fixture, indent=2, ensure_ascii=False) + "\n")


def main():
    lst = Listener()
    a = anthropic.Anthropic(api_key="sk-ant-test", base_url=lst.url, max_retries=0)
    o = openai.OpenAI(api_key="sk-test", base_url=lst.url + "/v1", max_retries=0)
    asdk = f"anthropic-python {anthropic.__version__}"
    osdk = f"openai-python {openai.__version__}"

    lst.answer(MESSAGE)
    a.messages.create(
        model="claude-sonnet-4-5", max_tokens=256, system="You are brief.",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        stop_sequences=["END"], metadata={"user_id": "user-42"},
        # This SDK version no longer types the sampling parameters; older clients send them.
        extra_body={"temperature": 0.2, "top_k": 40},
    )
    save("messages_plain", asdk, "Anthropic().messages.create", lst.requests[-1])

    lst.answer(MESSAGE_SSE, "text/event-stream")
    with a.messages.stream(
        model="claude-sonnet-4-5", max_tokens=1024,
        system=[{"type": "text", "text": "You are brief.", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "Count to three."}],
        thinking={"type": "enabled", "budget_tokens": 8000},
    ) as s:
        s.get_final_message()
    save("messages_stream", asdk, "Anthropic().messages.stream", lst.requests[-1])

    lst.answer(MESSAGE)
    a.messages.create(
        model="claude-sonnet-4-5", max_tokens=512,
        tools=[{"name": "get_weather", "description": "Current weather for a city", "input_schema": WEATHER_SCHEMA}],
        tool_choice={"type": "any", "disable_parallel_tool_use": True},
        messages=[
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Checking Paris."},
                {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01", "content": "21°C, sunny"},
                {"type": "text", "text": "Now Rome."},
            ]},
        ],
    )
    save("messages_tools", asdk, "Anthropic().messages.create", lst.requests[-1])

    lst.answer(MESSAGE)
    a.messages.create(
        model="claude-sonnet-4-5", max_tokens=256,
        messages=[{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": PDF}, "title": "report.pdf"},
            {"type": "text", "text": "Describe these."},
        ]}],
    )
    save("messages_image", asdk, "Anthropic().messages.create", lst.requests[-1])

    lst.answer(json.dumps({"input_tokens": 1}))
    a.messages.count_tokens(
        model="claude-sonnet-4-5",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        tools=[{"name": "get_weather", "description": "Current weather for a city", "input_schema": WEATHER_SCHEMA}],
    )
    save("messages_count_tokens", asdk, "Anthropic().messages.count_tokens", lst.requests[-1])

    lst.answer(RESPONSE)
    o.responses.create(
        model="gpt-4.1-mini", instructions="You are brief.", input="What is the capital of France?",
        max_output_tokens=256, temperature=0.2, metadata={"ticket": "42"}, store=False, user="user-42",
        text={"format": {"type": "json_schema", "name": "answer", "schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False}, "strict": True}},
    )
    save("responses_plain", osdk, "OpenAI().responses.create", lst.requests[-1])

    lst.answer(RESPONSE_SSE, "text/event-stream")
    with o.responses.stream(
        model="gpt-4.1-mini", input=[{"role": "user", "content": "Count to three."}],
        reasoning={"effort": "low", "summary": "auto"}, store=False,
    ) as s:
        s.get_final_response()
    save("responses_stream", osdk, "OpenAI().responses.stream", lst.requests[-1])

    lst.answer(RESPONSE)
    o.responses.create(
        model="gpt-4.1-mini", store=False, parallel_tool_calls=False,
        tools=[{"type": "function", "name": "get_weather", "description": "Current weather for a city", "parameters": WEATHER_SCHEMA, "strict": True}],
        tool_choice={"type": "function", "name": "get_weather"},
        input=[
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"type": "function_call", "call_id": "call_01", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
            {"type": "function_call_output", "call_id": "call_01", "output": "21°C, sunny"},
            {"role": "user", "content": [{"type": "input_text", "text": "Now Rome."}]},
        ],
    )
    save("responses_tools", osdk, "OpenAI().responses.create", lst.requests[-1])

    lst.answer(RESPONSE)
    o.responses.create(
        model="gpt-4.1-mini", store=False,
        input=[{"role": "user", "content": [
            {"type": "input_text", "text": "Describe these."},
            {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "low"},
            {"type": "input_image", "image_url": "https://example.com/cat.jpg", "detail": "auto"},
            {"type": "input_file", "filename": "report.pdf", "file_data": f"data:application/pdf;base64,{PDF}"},
        ]}],
    )
    save("responses_image", osdk, "OpenAI().responses.create", lst.requests[-1])
    lst.close()
    print(f"captured {len(lst.requests)} requests into {OUT}")


if __name__ == "__main__":
    main()
