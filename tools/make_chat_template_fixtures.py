#!/usr/bin/env python3
"""Renders every chat template in tests/data/chat_templates/ over a set of conversations with the real
transformers apply_chat_template(tokenize=False) and writes the expected strings (or the error transformers
raised) to tests/data/chat_templates/fixtures.json, with the library versions used.

Setup (no torch needed):
    python3 -m venv /work/venv-fixtures
    /work/venv-fixtures/bin/pip install transformers==5.24.0 jinja2==3.1.6
    /work/venv-fixtures/bin/python tools/make_chat_template_fixtures.py

The tokenizer object only supplies apply_chat_template; it is built from ../shared/data/tokenizers/qwen3 and
each template's own special tokens are passed as keyword arguments, which take precedence as in transformers.
"""
import json
import platform
import sys
from pathlib import Path

import jinja2
import transformers
from transformers import PreTrainedTokenizerFast

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "chat_templates"
QWEN3 = ROOT.parent / "shared" / "data" / "tokenizers" / "qwen3"

# The special tokens each model's tokenizer_config.json declares (what apply_chat_template passes to the template).
SPECIAL_TOKENS = {
    "qwen3": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "llama-3.2": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "llama-3.3": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "mistral-v0.3": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
    "gemma-2": {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>"},
    "phi-3.5": {"bos_token": "<s>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "unk_token": "<unk>"},
    "chatml": {"bos_token": "<s>", "eos_token": "<|im_end|>"},
}

# Llama 3.2 prints today's date through strftime_now unless date_string is given; fixtures must not change daily.
FIXED_DATE = {"llama-3.2": {"date_string": "09 Jan 2025"}}

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Zürich"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}
SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "Search the web.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}}},
        "return": {"type": "array"},
    },
}

U = lambda c: {"role": "user", "content": c}  # noqa: E731
A = lambda c: {"role": "assistant", "content": c}  # noqa: E731
S = lambda c: {"role": "system", "content": c}  # noqa: E731


def tool_call(name, arguments, call_id="call12345"):
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


CONVERSATIONS = [
    ("single_user", [U("Hello!")], True, {}),
    ("single_user_no_prompt", [U("Hello!")], False, {}),
    ("system_user", [S("You are a helpful assistant."), U("What is 2+2?")], True, {}),
    ("multi_turn", [U("Hi"), A("Hello! How can I help?"), U("Tell me a joke.")], True, {}),
    ("multi_turn_system_closed", [S("Be brief."), U("Capital of France?"), A("Paris."), U("And Italy?"), A("Rome.")], False, {}),
    ("unicode", [U("Ünïcödé — 日本語のテキスト 😀 👩‍👩‍👧 مرحبا नमस्ते e\u0301"), A("了解しました。🎉"), U("Ça va ? Ñandú")], True, {}),
    ("whitespace", [S("  padded system  \n"), U("\n\n  leading and trailing  \n\t"), A("  answer with spaces  "), U("tabs\tand\nnewlines\r\n")], True, {}),
    ("empty_content", [U(""), A(""), U("x")], True, {}),
    ("special_characters", [U("Quotes \" ' and backslash \\ and braces {{ not a tag }} {% nor this %} {# nor this #}"), A("<|im_end|> [INST] <end_of_turn> </s>"), U("json: {\"a\": [1, 2]}")], True, {}),
    ("long_conversation", [U("q1"), A("a1"), U("q2"), A("a2"), U("q3"), A("a3"), U("q4")], True, {}),
    ("system_only", [S("You are a pirate.")], True, {}),
    ("assistant_last", [U("Say hi"), A("hi")], False, {}),
    ("consecutive_users", [U("first"), U("second")], True, {}),
    ("starts_with_assistant", [A("I speak first"), U("ok")], True, {}),
    ("tools_available", [S("You can call tools."), U("What's the weather in Zürich?")], True, {"tools": [WEATHER_TOOL, SEARCH_TOOL]}),
    ("tool_call_roundtrip", [
        U("What's the weather in Paris?"),
        {"role": "assistant", "content": "", "tool_calls": [tool_call("get_weather", {"city": "Paris", "unit": "celsius"})]},
        {"role": "tool", "tool_call_id": "call12345", "name": "get_weather", "content": "{\"temperature\": 21.5, \"sky\": \"clear\"}"},
        A("It is 21.5 °C and clear in Paris."),
        U("Thanks!"),
    ], True, {"tools": [WEATHER_TOOL]}),
    ("tool_call_string_arguments", [
        U("Search for cats"),
        {"role": "assistant", "content": None, "tool_calls": [tool_call("search", "{\"query\": \"cats\"}", "abcdefghi")]},
        {"role": "tool", "tool_call_id": "abcdefghi", "content": "3 results"},
    ], True, {"tools": [SEARCH_TOOL]}),
    ("tool_call_rich_arguments", [
        U("Compute"),
        {"role": "assistant", "tool_calls": [tool_call("search", {"query": "ünïcode ✓", "limit": 3, "ratio": 1.5, "exact": True, "tags": [1, None, "x"], "nested": {"deep": {"k": 2.0}}})]},
    ], False, {"tools": [SEARCH_TOOL]}),
    ("two_tool_calls", [
        U("Weather in Paris and Rome?"),
        {"role": "assistant", "content": "", "tool_calls": [tool_call("get_weather", {"city": "Paris"}, "call00001"), tool_call("get_weather", {"city": "Rome"}, "call00002")]},
        {"role": "tool", "tool_call_id": "call00001", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call00002", "content": "rainy"},
    ], True, {"tools": [WEATHER_TOOL]}),
    ("reasoning_content", [
        U("What is 17*3?"),
        {"role": "assistant", "content": "51", "reasoning_content": "17*3 = 51."},
        U("And 17*4?"),
        {"role": "assistant", "content": "68", "reasoning_content": "\n17*4 = 68.\n"},
    ], False, {}),
    ("reasoning_alias_thinking", [U("Think first."), {"role": "assistant", "content": "Done.", "thinking": "Let me think."}, U("Again")], True, {}),
    ("think_tags_in_content", [U("Hi"), A("<think>\nThe user greets me.\n</think>\n\nHello there!"), U("Bye")], True, {}),
    ("enable_thinking_false", [U("Quick answer please")], True, {"enable_thinking": False}),
    ("llama_custom_date", [S("Date test."), U("What day is it?")], True, {"date_string": "01 Feb 2025"}),
    ("llama_tools_in_system", [U("Weather in Oslo?")], True, {"tools": [WEATHER_TOOL], "tools_in_user_message": False}),
    ("llama_builtin_tools", [
        S("Use tools when helpful."),
        U("Search the news"),
        {"role": "assistant", "tool_calls": [tool_call("brave_search", {"query": "latest news"})]},
        {"role": "ipython", "content": "headline"},
    ], True, {"builtin_tools": ["brave_search", "wolfram_alpha", "code_interpreter"]}),
    ("tool_message_mapping_content", [
        U("Lookup"),
        {"role": "assistant", "content": "", "tool_calls": [tool_call("search", {"query": "x"})]},
        {"role": "tool", "tool_call_id": "call12345", "content": {"content": "mapped", "score": 0.25}},
    ], False, {"tools": [SEARCH_TOOL]}),
]


def render(tokenizer, name, source, messages, add_generation_prompt, extra):
    kwargs = {**SPECIAL_TOKENS[name], **FIXED_DATE.get(name, {}), **extra}
    try:
        out = tokenizer.apply_chat_template(
            messages, chat_template=source, add_generation_prompt=add_generation_prompt, tokenize=False, **kwargs
        )
        return {"output": out}
    except Exception as e:  # the fixture records what transformers raised; the C++ side must fail too
        return {"error_type": type(e).__name__, "error": str(e)}


def main():
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(QWEN3 / "tokenizer.json"))
    templates = {p.stem: p.read_text(encoding="utf-8") for p in sorted(DATA.glob("*.jinja"))}
    missing = set(SPECIAL_TOKENS) - set(templates)
    if missing:
        sys.exit(f"missing templates: {sorted(missing)}")
    conversations = [
        {"name": n, "messages": m, "add_generation_prompt": g, "extra": e} for n, m, g, e in CONVERSATIONS
    ]
    renderings = []
    for name in sorted(templates):
        for conv in conversations:
            r = render(tokenizer, name, templates[name], conv["messages"], conv["add_generation_prompt"], conv["extra"])
            renderings.append({"template": name, "conversation": conv["name"], **r})
    fixture = {
        "generator": "tools/make_chat_template_fixtures.py",
        "versions": {
            "transformers": transformers.__version__,
            "jinja2": jinja2.__version__,
            "python": platform.python_version(),
        },
        "special_tokens": SPECIAL_TOKENS,
        "fixed_variables": FIXED_DATE,
        "conversations": conversations,
        "renderings": renderings,
    }
    out = DATA / "fixtures.json"
    out.write_text(json.dumps(fixture, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    errors = sum("error" in r for r in renderings)
    print(f"wrote {out}: {len(renderings)} renderings ({errors} errors) over {len(conversations)} conversations")


if __name__ == "__main__":
    main()
