/**
 * `translateResponsesRequest()`: what is translated, and that every field the protocol cannot
 * serve, every unknown key and every hostile body is a refusal naming the field, never a crash
 * and never a silent drop.
 */
import assert from "node:assert/strict";
import {
  type ResponsesRefusal,
  type ResponsesTranslation,
  translateResponsesRequest,
} from "../../src/openai/responses_request.ts";

const base = { model: "m", input: "hi" };

const translated = (body: Record<string, unknown>): ResponsesTranslation => {
  const result = translateResponsesRequest(body);
  assert.ok(result.ok, result.ok ? "" : result.message);
  return result;
};

const refused = (body: Record<string, unknown>): ResponsesRefusal => {
  const result = translateResponsesRequest(body);
  assert.ok(!result.ok, `expected a refusal of ${JSON.stringify(body).slice(0, 200)}`);
  assert.ok(result.message.includes(result.param), result.message);
  return result;
};

Deno.test("translateResponsesRequest() makes a string input one user message", () => {
  const { request, stream, echo } = translated({ ...base, instructions: "be brief" });
  assert.deepEqual(request, {
    model: "m",
    messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hi" }],
  });
  assert.equal(stream, false);
  assert.equal(echo.tool_choice, "auto");
  assert.deepEqual(echo.text, { format: { type: "text" } });
});

Deno.test("translateResponsesRequest() maps the sampling, format and tool parameters", () => {
  const { request, stream, echo } = translated({
    ...base,
    max_output_tokens: 50,
    temperature: 0.5,
    top_p: 0.8,
    user: "u",
    safety_identifier: "s",
    service_tier: "auto",
    prompt_cache_key: "k",
    parallel_tool_calls: false,
    reasoning: { effort: "low" },
    text: { format: { type: "json_object" }, verbosity: "low" },
    include: ["message.output_text.logprobs"],
    top_logprobs: 3,
    tools: [{ type: "function", name: "f", parameters: { type: "object" }, strict: null }],
    tool_choice: {
      type: "allowed_tools",
      mode: "required",
      tools: [{ type: "function", name: "f" }],
    },
    metadata: { trace: "t1" },
    stream: true,
    stream_options: { include_obfuscation: false },
    store: false,
    background: false,
    truncation: "disabled",
    previous_response_id: null,
  });
  assert.deepEqual(request, {
    model: "m",
    messages: [{ role: "user", content: "hi" }],
    max_tokens: 50,
    temperature: 0.5,
    top_p: 0.8,
    user: "u",
    safety_identifier: "s",
    prompt_cache_key: "k",
    service_tier: "auto",
    tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
    tool_choice: {
      type: "allowed_tools",
      allowed_tools: { mode: "required", tools: [{ type: "function", function: { name: "f" } }] },
    },
    parallel_tool_calls: false,
    response_format: { type: "json_object" },
    verbosity: "low",
    reasoning_effort: "low",
    top_logprobs: 3,
    logprobs: true,
  });
  assert.equal(stream, true);
  assert.deepEqual(echo.metadata, { trace: "t1" });
  assert.equal(echo.logprobs, true);
  assert.deepEqual(echo.tools, [{
    type: "function",
    name: "f",
    description: null,
    parameters: { type: "object" },
    strict: null,
  }]);
});

Deno.test("translateResponsesRequest() joins an answer's items into one assistant message", () => {
  const { request } = translated({
    model: "m",
    input: [
      { role: "user", content: [{ type: "input_text", text: "q" }] },
      {
        type: "reasoning",
        id: "rs_1",
        summary: [],
        content: [{ type: "reasoning_text", text: "think" }],
      },
      {
        type: "message",
        id: "msg_1",
        role: "assistant",
        status: "completed",
        content: [{ type: "output_text", text: "calling", annotations: [], logprobs: [] }],
      },
      { type: "function_call", id: "fc_1", call_id: "c1", name: "f", arguments: "{}" },
      {
        type: "function_call",
        call_id: "c2",
        name: "g",
        arguments: '{"a":1}',
        status: "completed",
      },
      { type: "function_call_output", call_id: "c1", output: "one" },
      {
        type: "function_call_output",
        call_id: "c2",
        output: [{ type: "input_text", text: "two" }],
      },
      { role: "assistant", content: "first" },
      { role: "assistant", content: "second" },
    ],
  });
  assert.deepEqual(request.messages, [
    { role: "user", content: [{ type: "text", text: "q" }] },
    {
      role: "assistant",
      content: "calling",
      reasoning_content: "think",
      tool_calls: [
        { id: "c1", type: "function", function: { name: "f", arguments: "{}" } },
        { id: "c2", type: "function", function: { name: "g", arguments: '{"a":1}' } },
      ],
    },
    { role: "tool", tool_call_id: "c1", content: "one" },
    { role: "tool", tool_call_id: "c2", content: [{ type: "text", text: "two" }] },
    { role: "assistant", content: "first" },
    { role: "assistant", content: "second" },
  ]);
});

Deno.test("translateResponsesRequest() refuses what needs server state or OpenAI's servers", () => {
  const cases: ReadonlyArray<[Record<string, unknown>, string]> = [
    [{ previous_response_id: "resp_1" }, "previous_response_id"],
    [{ conversation: "conv_1" }, "conversation"],
    [{ conversation: { id: "conv_1" } }, "conversation"],
    [{ store: true }, "store"],
    [{ background: true }, "background"],
    [{ background_options: {} }, "background_options"],
    [{ prompt: { id: "pmpt_1" } }, "prompt"],
    [{ context_management: [{ type: "compaction" }] }, "context_management"],
    [{ max_tool_calls: 2 }, "max_tool_calls"],
    [{ truncation: "auto" }, "truncation"],
    [{ prompt_cache_options: { mode: "x" } }, "prompt_cache_options"],
    [{ access_programs: {} }, "access_programs"],
    [{ image: {} }, "image"],
    [{ moderation: {} }, "moderation"],
    [{ include: ["message.output_text.logprobs", "reasoning.encrypted_content"] }, "include[1]"],
    [{ include: ["file_search_call.results"] }, "include[0]"],
    [{ reasoning: { summary: "auto" } }, "reasoning.summary"],
    [{ reasoning: { generate_summary: "auto" } }, "reasoning.generate_summary"],
    [{ tool_choice: { type: "web_search_preview" } }, "tool_choice.type"],
    [{ tool_choice: { type: "mcp", server_label: "x" } }, "tool_choice.type"],
    [{ input: [{ type: "item_reference", id: "msg_1" }] }, "input[0]"],
    [{ input: [{ type: "web_search_call", id: "ws_1" }] }, "input[0].type"],
    [{ input: [{ type: "computer_call_output", call_id: "c" }] }, "input[0].type"],
    [
      { input: [{ type: "reasoning", id: "r", summary: [], encrypted_content: "gAAA" }] },
      "input[0].encrypted_content",
    ],
    [
      { input: [{ type: "reasoning", id: "r", summary: [{ type: "summary_text", text: "s" }] }] },
      "input[0].summary",
    ],
    [
      { input: [{ role: "user", content: [{ type: "input_file", file_id: "file_1" }] }] },
      "input[0].content[0]",
    ],
    [
      { input: [{ role: "user", content: [{ type: "input_image", file_id: "file_1" }] }] },
      "input[0].content[0].file_id",
    ],
    [{
      input: [{
        role: "user",
        content: [{ type: "input_image", image_url: "u", detail: "original" }],
      }],
    }, "input[0].content[0].detail"],
    [
      { input: [{ role: "system", content: [{ type: "input_image", image_url: "u" }] }] },
      "input[0].content[0].type",
    ],
    [{
      input: [{
        type: "function_call_output",
        call_id: "c",
        output: [{ type: "input_image", image_url: "u" }],
      }],
    }, "input[0].output[0].type"],
    [{
      input: [{ type: "function_call", call_id: "c", name: "f", arguments: "{}", namespace: "ns" }],
    }, "input[0].namespace"],
    [{ input: [{ role: "assistant", content: "x", phase: "commentary" }] }, "input[0].phase"],
  ];
  for (const [extra, param] of cases) {
    const refusal = refused({ ...base, ...extra });
    assert.equal(refusal.param, param, JSON.stringify(extra));
    assert.equal(refusal.code, "unsupported_parameter", param);
  }
});

Deno.test("translateResponsesRequest() refuses every built-in tool, naming it", () => {
  const builtIns = [
    "web_search",
    "web_search_preview",
    "file_search",
    "code_interpreter",
    "computer_use_preview",
    "computer",
    "image_generation",
    "mcp",
    "local_shell",
    "shell",
    "custom",
    "apply_patch",
    "tool_search",
    "namespace",
  ];
  for (const type of builtIns) {
    const refusal = refused({
      ...base,
      tools: [{ type: "function", name: "f" }, { type }],
    });
    assert.equal(refusal.param, "tools[1].type");
    assert.ok(refusal.message.includes(JSON.stringify(type)), refusal.message);
  }
  for (const [key, value] of [["async", true], ["defer_loading", true], ["output_schema", {}]]) {
    const refusal = refused({
      ...base,
      tools: [{ type: "function", name: "f", [key as string]: value }],
    });
    assert.equal(refusal.param, `tools[0].${key}`);
  }
});

Deno.test("translateResponsesRequest() refuses an unknown key anywhere, naming it", () => {
  const cases: ReadonlyArray<[Record<string, unknown>, string]> = [
    [{ n: 2 }, "n"],
    [{ messages: [] }, "messages"],
    [{ stop: ["x"] }, "stop"],
    [{ text: { format: { type: "text" }, colour: "red" } }, "text.colour"],
    [
      { text: { format: { type: "json_schema", name: "n", schema: {}, extra: 1 } } },
      "text.format.extra",
    ],
    [{ reasoning: { effort: "low", budget: 5 } }, "reasoning.budget"],
    [{ stream_options: { include_usage: true } }, "stream_options.include_usage"],
    [{ tools: [{ type: "function", name: "f", function: {} }] }, "tools[0].function"],
    [{ tool_choice: { type: "function", name: "f", function: {} } }, "tool_choice.function"],
    [{ input: [{ role: "user", content: "x", name: "bob" }] }, "input[0].name"],
    [
      { input: [{ role: "user", content: [{ type: "input_text", text: "x", cache: 1 }] }] },
      "input[0].content[0].cache",
    ],
  ];
  for (const [extra, param] of cases) {
    const refusal = refused({ ...base, ...extra });
    assert.equal(refusal.param, param);
    assert.equal(refusal.code, "unknown_parameter", param);
  }
  // A key named like a prototype member is a plain unknown key.
  const parsed = JSON.parse('{"model":"m","input":"x","__proto__":{"stream":true}}');
  assert.equal(refused(parsed).param, "__proto__");
});

Deno.test("translateResponsesRequest() refuses wrong types with a 400 naming the field", () => {
  const cases: ReadonlyArray<[Record<string, unknown>, string]> = [
    [{ model: 1 }, "model"],
    [{ model: undefined }, "model"],
    [{ input: undefined }, "input"],
    [{ input: 5 }, "input"],
    [{ input: { role: "user" } }, "input"],
    [{ input: [1] }, "input[0]"],
    [{ input: [null] }, "input[0]"],
    [{ input: [[]] }, "input[0]"],
    [{ input: [{ role: "tool", content: "x" }] }, "input[0].role"],
    [{ input: [{ role: 1, content: "x" }] }, "input[0].role"],
    [{ input: [{ role: "user", content: 3 }] }, "input[0].content"],
    [
      { input: [{ role: "user", content: [{ type: "input_text", text: 3 }] }] },
      "input[0].content[0].text",
    ],
    [
      { input: [{ role: "user", content: [{ type: "output_audio" }] }] },
      "input[0].content[0].type",
    ],
    [{ input: [{ type: 7 }] }, "input[0].type"],
    [{ input: [{ type: "function_call", call_id: "c", name: "f" }] }, "input[0].arguments"],
    [{ input: [{ type: "function_call_output", output: "x" }] }, "input[0].call_id"],
    [{ instructions: ["x"] }, "instructions"],
    [{ temperature: "hot" }, "temperature"],
    [{ top_p: true }, "top_p"],
    [{ max_output_tokens: 0 }, "max_output_tokens"],
    [{ max_output_tokens: 1.5 }, "max_output_tokens"],
    [{ top_logprobs: 21 }, "top_logprobs"],
    [{ stream: "yes" }, "stream"],
    [{ stream_options: [] }, "stream_options"],
    [{ tools: {} }, "tools"],
    [{ tools: [{ type: "function" }] }, "tools[0].name"],
    [{ tools: [{ type: "function", name: "f", parameters: [] }] }, "tools[0].parameters"],
    [{ tool_choice: "always" }, "tool_choice"],
    [{ tool_choice: { type: "allowed_tools", mode: "none", tools: [] } }, "tool_choice.mode"],
    [{ text: "json" }, "text"],
    [{ text: { format: { type: "yaml" } } }, "text.format.type"],
    [{ text: { format: { type: "json_schema", name: "n" } } }, "text.format.schema"],
    [{ metadata: { a: 1 } }, "metadata.a"],
    [{ include: "all" }, "include"],
    [{ parallel_tool_calls: "yes" }, "parallel_tool_calls"],
    [{ user: 5 }, "user"],
  ];
  for (const [extra, param] of cases) {
    assert.equal(refused({ ...base, ...extra }).param, param, JSON.stringify(extra));
  }
});

Deno.test("translateResponsesRequest() never puts the prompt's text into a refusal", () => {
  const secret = "patient-record-4711";
  const refusal = refused({
    model: "m",
    input: [
      { role: "user", content: [{ type: "input_text", text: secret }] },
      { role: "user", content: [{ type: "input_text", text: secret }, { type: "input_file" }] },
    ],
  });
  assert.equal(refusal.param, "input[1].content[1]");
  assert.ok(!refusal.message.includes(secret));
  // A caller's value that is named is cut short.
  const long = refused({ ...base, tools: [{ type: "x".repeat(10_000) }] });
  assert.ok(long.message.length < 400, `${long.message.length}`);
});

Deno.test("translateResponsesRequest() takes huge inputs and refuses the first bad item", () => {
  const items = Array.from({ length: 100_000 }, (_, i) => ({ role: "user", content: `m${i}` }));
  assert.equal(translated({ model: "m", input: items }).request.messages.length, 100_000);
  const bad = [...items];
  bad[99_999] = { role: "user", content: 1 } as unknown as (typeof items)[number];
  assert.equal(refused({ model: "m", input: bad }).param, "input[99999].content");
  const wideTools = Array.from({ length: 50_000 }, () => ({ type: "file_search" }));
  assert.equal(refused({ ...base, tools: wideTools }).param, "tools[0].type");
});

Deno.test("translateResponsesRequest() ignores a polluted Object.prototype", () => {
  const proto = Object.prototype as Record<string, unknown>;
  const keys = ["stream", "previous_response_id", "store", "tools", "role", "type", "instructions"];
  try {
    proto.stream = true;
    proto.previous_response_id = "resp_evil";
    proto.store = true;
    proto.tools = [{ type: "web_search" }];
    proto.role = "system";
    proto.type = "item_reference";
    proto.instructions = "evil";
    const { request, stream } = translated({
      model: "m",
      input: [{ role: "user", content: "x" }, {
        type: "function_call_output",
        call_id: "c",
        output: "o",
      }],
    });
    assert.equal(stream, false);
    assert.deepEqual(JSON.parse(JSON.stringify(request)), {
      model: "m",
      messages: [{ role: "user", content: "x" }, { role: "tool", tool_call_id: "c", content: "o" }],
    });
  } finally {
    for (const key of keys) delete proto[key];
  }
});

Deno.test("translateResponsesRequest() reads null as not set", () => {
  const { request } = translated({
    ...base,
    instructions: null,
    temperature: null,
    top_p: null,
    max_output_tokens: null,
    tools: null,
    tool_choice: null,
    text: null,
    reasoning: null,
    include: null,
    metadata: null,
    stream: null,
    stream_options: null,
    conversation: null,
    prompt: null,
    truncation: null,
    store: null,
    background: null,
  });
  assert.deepEqual(request, { model: "m", messages: [{ role: "user", content: "hi" }] });
});

Deno.test("translateResponsesRequest() leaves the client's own fields to the client", () => {
  const { request } = translated({ ...base, security_tier: "high" });
  assert.equal(request.security_tier, "high", "where the chat door's would go");
  assert.equal(refused({ ...base, securityTier: "high" }).param, "securityTier");
});

Deno.test("translateResponsesRequest() cuts a caller's key short in the refusal", () => {
  const key = "k".repeat(100_000);
  const refusal = refused({ ...base, [key]: 1 });
  assert.equal(refusal.param, `${"k".repeat(64)}…`);
  assert.ok(refusal.message.length < 300);
  assert.ok(refused({ ...base, metadata: { [key]: 1 } }).param.length < 80);
});
