/**
 * openai-node's Responses API (`responses.create`, `responses.stream`) wired with
 * `fetch: client.fetch`, against the test router: text, function tools with a
 * `function_call_output` round trip, `text.format` json_schema, the event stream, and a refused
 * field raised as openai's `BadRequestError` naming it.
 */
import assert from "node:assert/strict";
import OpenAI from "npm:openai@7";
import type { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import { assertSealed, lastPlaintext, withClient } from "./_setup.ts";

const sdk = (client: SecureChatCompletion): OpenAI =>
  new OpenAI({
    baseURL: "https://nomyo.invalid/v1",
    apiKey: "unused",
    maxRetries: 0,
    fetch: client.fetch,
  });

const MODEL = "Qwen/Qwen3-0.6B";

const WEATHER: OpenAI.Responses.FunctionTool = {
  type: "function",
  name: "get_weather",
  description: "The weather in a city",
  parameters: {
    type: "object",
    properties: { echo: { type: "string" } },
    required: ["echo"],
    additionalProperties: false,
  },
  strict: true,
};

interface Metadata {
  readonly _metadata: { readonly is_encrypted: boolean; readonly payload_id: string };
}

Deno.test("openai responses.create(): text through client.fetch", async () => {
  await withClient(async (client, router) => {
    const response = await sdk(client).responses.create({
      model: MODEL,
      instructions: "Answer briefly",
      input: "resp-secret-1",
      max_output_tokens: 64,
      temperature: 0.2,
      top_p: 0.9,
    });
    assert.equal(response.object, "response");
    assert.equal(response.status, "completed");
    assert.equal(response.output_text, "Echo: resp-secret-1");
    assert.equal(response.model, MODEL);
    const meta = (response as unknown as Metadata)._metadata;
    assert.equal(meta.is_encrypted, true);
    assert.equal(response.id, `resp_${meta.payload_id}`);
    assert.match(response._request_id ?? "", /^req_/); // the router's x-request-id
    const message = response.output[0];
    assert.equal(message?.type, "message");
    assert.ok(response.usage !== undefined && response.usage.total_tokens > 0);
    assert.equal(
      response.usage.total_tokens,
      response.usage.input_tokens + response.usage.output_tokens,
    );
    assertSealed(router, 1, "resp-secret-1");
    const sent = lastPlaintext(router);
    assert.deepEqual(sent.messages, [
      { role: "system", content: "Answer briefly" },
      { role: "user", content: "resp-secret-1" },
    ]);
    assert.equal(sent.max_tokens, 64);
    assert.equal(sent.temperature, 0.2);
    assert.equal(sent.top_p, 0.9);
    assert.equal(sent.stream, undefined, "the protocol has no streaming");
  });
});

Deno.test("openai responses.create(): message items with text and image parts", async () => {
  await withClient(async (client, router) => {
    const response = await sdk(client).responses.create({
      model: MODEL,
      input: [
        { role: "developer", content: "Be exact" },
        {
          role: "user",
          content: [
            { type: "input_text", text: "what is" },
            { type: "input_image", image_url: "data:image/png;base64,AAAA", detail: "low" },
            { type: "input_text", text: "this" },
          ],
        },
      ],
    });
    assert.equal(response.output_text, "Echo: what is this");
    assert.deepEqual(lastPlaintext(router).messages, [
      { role: "developer", content: "Be exact" },
      {
        role: "user",
        content: [
          { type: "text", text: "what is" },
          { type: "image_url", image_url: { url: "data:image/png;base64,AAAA", detail: "low" } },
          { type: "text", text: "this" },
        ],
      },
    ]);
  });
});

Deno.test("openai responses.create(): a function call and its output, round trip", async () => {
  await withClient(async (client, router) => {
    const openai = sdk(client);
    const input: OpenAI.Responses.ResponseInput = [{ role: "user", content: "Paris" }];
    const first = await openai.responses.create({ model: MODEL, input, tools: [WEATHER] });
    const call = first.output.find((item) => item.type === "function_call");
    assert.ok(call !== undefined && call.type === "function_call");
    assert.equal(call.name, "get_weather");
    assert.deepEqual(JSON.parse(call.arguments), { echo: "Paris" });
    assert.match(call.call_id, /^call_/);
    assert.equal(first.output_text, "");
    assert.deepEqual(lastPlaintext(router).tools, [{
      type: "function",
      function: {
        name: "get_weather",
        description: "The weather in a city",
        parameters: WEATHER.parameters,
        strict: true,
      },
    }]);
    assert.deepEqual(first.tools, [WEATHER]);

    // openai's own pattern: the answer's output items go back as input, with the result.
    const second = await openai.responses.create({
      model: MODEL,
      tools: [WEATHER],
      input: [
        ...input,
        ...(first.output as OpenAI.Responses.ResponseInputItem[]),
        { type: "function_call_output", call_id: call.call_id, output: "sunny" },
      ],
    });
    assert.equal(second.output_text, "Tool result: sunny");
    assert.deepEqual(lastPlaintext(router).messages, [
      { role: "user", content: "Paris" },
      {
        role: "assistant",
        content: null,
        tool_calls: [{
          id: call.call_id,
          type: "function",
          function: { name: "get_weather", arguments: call.arguments },
        }],
      },
      { role: "tool", tool_call_id: call.call_id, content: "sunny" },
    ]);
    assertSealed(router, 2, "sunny");
  });
});

Deno.test("openai responses.create(): tool_choice none and a named function", async () => {
  await withClient(async (client, router) => {
    const openai = sdk(client);
    const none = await openai.responses.create({
      model: MODEL,
      input: "Rome",
      tools: [WEATHER],
      tool_choice: "none",
    });
    assert.equal(none.output_text, "Echo: Rome");
    assert.equal(lastPlaintext(router).tool_choice, "none");
    await openai.responses.create({
      model: MODEL,
      input: "Rome",
      tools: [WEATHER],
      tool_choice: { type: "function", name: "get_weather" },
    });
    assert.deepEqual(lastPlaintext(router).tool_choice, {
      type: "function",
      function: { name: "get_weather" },
    });
  });
});

Deno.test("openai responses.create(): text.format json_schema as response_format", async () => {
  await withClient(async (client, router) => {
    const schema = {
      type: "object",
      properties: { echo: { type: "string" } },
      required: ["echo"],
      additionalProperties: false,
    };
    const response = await sdk(client).responses.create({
      model: MODEL,
      input: "Oslo",
      text: { format: { type: "json_schema", name: "echo", schema, strict: true } },
    });
    assert.deepEqual(JSON.parse(response.output_text), { echo: "Oslo" });
    assert.deepEqual(lastPlaintext(router).response_format, {
      type: "json_schema",
      json_schema: { name: "echo", schema, strict: true },
    });
    await sdk(client).responses.create({
      model: MODEL,
      input: "Oslo",
      text: { format: { type: "json_object" } },
    });
    assert.deepEqual(lastPlaintext(router).response_format, { type: "json_object" });
  });
});

Deno.test("openai responses.stream(): events, deltas and finalResponse()", async () => {
  await withClient(async (client, router) => {
    const text =
      "a fairly long sentence that the echo model repeats back, word by word, to the caller";
    const stream = sdk(client).responses.stream({ model: MODEL, input: text });
    const types: string[] = [];
    const sequence: number[] = [];
    let deltas = "";
    for await (const event of stream) {
      types.push(event.type);
      sequence.push(event.sequence_number);
      if (event.type === "response.output_text.delta") deltas += event.delta;
    }
    const final = await stream.finalResponse();
    assert.equal(deltas, `Echo: ${text}`);
    assert.equal(final.output_text, `Echo: ${text}`);
    assert.equal(final.status, "completed");
    assert.deepEqual(sequence, sequence.map((_, i) => i));
    assert.equal(types[0], "response.created");
    assert.equal(types[1], "response.in_progress");
    assert.equal(types.at(-1), "response.completed");
    for (
      const name of [
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
      ]
    ) assert.equal(types.filter((t) => t === name).length, 1, name);
    assert.ok(types.filter((t) => t === "response.output_text.delta").length > 1);
    assert.equal((final as unknown as Metadata)._metadata.is_encrypted, true);
    assertSealed(router, 1, "fairly long sentence");
  });
});

Deno.test("openai responses.create({ stream: true }): function call argument events", async () => {
  await withClient(async (client) => {
    const stream = await sdk(client).responses.create({
      model: MODEL,
      input: "Lima",
      tools: [WEATHER],
      stream: true,
    });
    let args = "";
    let done: OpenAI.Responses.ResponseFunctionCallArgumentsDoneEvent | undefined;
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      if (event.type === "response.function_call_arguments.delta") args += event.delta;
      if (event.type === "response.function_call_arguments.done") done = event;
      if (event.type === "response.completed") completed = event.response;
    }
    assert.deepEqual(JSON.parse(args), { echo: "Lima" });
    assert.equal(done?.arguments, args);
    const call = completed?.output[0];
    assert.ok(call?.type === "function_call");
    assert.equal(call.name, "get_weather");
    assert.equal(call.arguments, args);
  });
});

Deno.test("openai responses.create(): a refused field is a BadRequestError naming it", async () => {
  await withClient(async (client, router) => {
    const openai = sdk(client);
    const cases: ReadonlyArray<[Record<string, unknown>, string]> = [
      [{ previous_response_id: "resp_1" }, "previous_response_id"],
      [{ store: true }, "store"],
      [{ background: true }, "background"],
      [{ tools: [{ type: "web_search" }] }, "tools[0].type"],
    ];
    for (const [extra, param] of cases) {
      await assert.rejects(
        openai.responses.create({ model: MODEL, input: "x", ...extra }),
        (error: unknown) => {
          assert.ok(error instanceof OpenAI.BadRequestError);
          assert.equal(error.param, param);
          assert.ok(error.message.includes(param), error.message);
          return true;
        },
      );
    }
    assertSealed(router, 0, "x");
  });
});
