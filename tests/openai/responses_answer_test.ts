/**
 * `completionToResponse()` and `responseEvents()`: a chat completion as a Response object and
 * as the Responses event stream, checked by openai-node's own stream reader
 * (`ResponseStream.fromReadableStream`), whose snapshot must equal the Response.
 */
import assert from "node:assert/strict";
import { ResponseStream } from "npm:openai@7/lib/responses/ResponseStream";
import type { ChatCompletion } from "../../src/protocol/chat.ts";
import { completionToResponse, type ResponseObject } from "../../src/openai/responses_answer.ts";
import { responseEvents, responsesSseBody } from "../../src/openai/responses_events.ts";
import {
  type ResponseEcho,
  translateResponsesRequest,
} from "../../src/openai/responses_request.ts";

const echoOf = (body: Record<string, unknown> = {}): ResponseEcho => {
  const result = translateResponsesRequest({ model: "m", input: "x", ...body });
  assert.ok(result.ok);
  return result.echo;
};

const completion = (
  message: Record<string, unknown>,
  finishReason: string = "stop",
  extra: Record<string, unknown> = {},
): ChatCompletion =>
  ({
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1_700_000_000,
    model: "m",
    choices: [{
      index: 0,
      message: { role: "assistant", content: null, refusal: null, ...message },
      finish_reason: finishReason,
      logprobs: null,
    }],
    usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    _metadata: {
      payload_id: "p1",
      is_encrypted: true,
      encryption_algorithm: "hybrid-aes256-rsa4096",
      response_status: "success",
    },
    ...extra,
  }) as unknown as ChatCompletion;

/**
 * Runs the events through openai-node's reader (which takes them as newline-delimited JSON, its
 * `toReadableStream()` form; the SSE form is read by the SDK in the fetch and SDK suites).
 */
const readWithOpenAI = async (response: ResponseObject): Promise<Record<string, unknown>> => {
  const lines = [...responseEvents(response)].map((e) => `${JSON.stringify(e)}\n`).join("");
  const stream = ResponseStream.fromReadableStream(new Blob([lines]).stream());
  return await stream.finalResponse() as unknown as Record<string, unknown>;
};

/** The output items without what openai-node's parser adds (`parsed`, `parsed_arguments`). */
const unparsed = (output: unknown): unknown =>
  JSON.parse(
    JSON.stringify(output, (key, value) =>
      key === "parsed" || key === "parsed_arguments" ? undefined : value),
  );

Deno.test("completionToResponse() makes reasoning, message and function call items", async () => {
  const text = "the answer, long enough to be cut into more than one delta by the event stream "
    .repeat(3);
  const response = completionToResponse(
    completion({
      content: text,
      reasoning_content: "thinking it over",
      tool_calls: [
        { id: "call_a", type: "function", function: { name: "f", arguments: '{"x":1}' } },
        { id: "call_b", type: "function", function: { name: "g", arguments: "" } },
      ],
    }, "tool_calls"),
    echoOf(),
  );
  assert.equal(response.status, "completed");
  assert.deepEqual(response.output.map((i) => [i.type, i.id]), [
    ["reasoning", "rs_p1"],
    ["message", "msg_p1"],
    ["function_call", "fc_p1_0"],
    ["function_call", "fc_p1_1"],
  ]);
  assert.deepEqual(response.output[2], {
    id: "fc_p1_0",
    type: "function_call",
    status: "completed",
    call_id: "call_a",
    name: "f",
    arguments: '{"x":1}',
  });
  assert.deepEqual(response.usage, {
    input_tokens: 3,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: 4,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 7,
  });
  const final = await readWithOpenAI(response);
  assert.equal(final.output_text, text);
  assert.deepEqual(unparsed(final.output), response.output);
  assert.deepEqual(final._metadata, response._metadata);
});

Deno.test("completionToResponse() makes a cut answer incomplete, with the reason", async () => {
  const cut = completionToResponse(completion({ content: "Echo: par" }, "length"), echoOf());
  assert.equal(cut.status, "incomplete");
  assert.deepEqual(cut.incomplete_details, { reason: "max_output_tokens" });
  assert.equal(cut.output[0]?.status, "incomplete");
  const events = [...responseEvents(cut)];
  assert.equal(events.at(-1)?.type, "response.incomplete");
  const final = await readWithOpenAI(cut);
  assert.equal(final.status, "incomplete");
  assert.equal(final.output_text, "Echo: par");
  const filtered = completionToResponse(completion({ content: "" }, "content_filter"), echoOf());
  assert.deepEqual(filtered.incomplete_details, { reason: "content_filter" });
});

Deno.test("completionToResponse() reads a finish reason OpenAI does not name as completed", () => {
  for (const reason of ["stop", "tool_calls", "function_call", "end_turn", "eos"]) {
    const response = completionToResponse(completion({ content: "x" }, reason), echoOf());
    assert.equal(response.status, "completed", reason);
    assert.equal(response.incomplete_details, null);
  }
});

Deno.test("completionToResponse() keeps a refusal as a refusal part", async () => {
  const response = completionToResponse(completion({ refusal: "I cannot" }), echoOf());
  assert.deepEqual(response.output[0]?.content, [{ type: "refusal", refusal: "I cannot" }]);
  const final = await readWithOpenAI(response);
  assert.deepEqual(unparsed(final.output), response.output);
  assert.equal(final.output_text, "");
});

Deno.test("completionToResponse() passes log probabilities when include asked for them", async () => {
  const logprobs = {
    content: [{ token: "Hi", bytes: [72, 105], logprob: -0.1, top_logprobs: [] }],
    refusal: null,
  };
  const answer = completion({ content: "Hi" });
  (answer.choices[0] as { logprobs: unknown }).logprobs = logprobs;
  const asked = completionToResponse(answer, echoOf({ include: ["message.output_text.logprobs"] }));
  assert.deepEqual(
    (asked.output[0]?.content as Array<{ logprobs: unknown }>)[0]?.logprobs,
    logprobs.content,
  );
  const final = await readWithOpenAI(asked);
  assert.deepEqual(unparsed(final.output), asked.output);
  const plain = completionToResponse(answer, echoOf());
  assert.equal("logprobs" in ((plain.output[0]?.content as object[])[0] ?? {}), false);
});

Deno.test("completionToResponse() reports the request's parameters, not its prompt", () => {
  const echo = echoOf({
    instructions: "secret instructions",
    temperature: 0.3,
    max_output_tokens: 9,
    metadata: { k: "v" },
    tools: [{ type: "function", name: "f", parameters: { type: "object" }, strict: true }],
    tool_choice: "required",
    text: { format: { type: "json_object" } },
  });
  const response = completionToResponse(completion({ content: "{}" }), echo);
  assert.equal(response.instructions, null);
  assert.ok(!JSON.stringify(response).includes("secret instructions"));
  assert.equal(response.temperature, 0.3);
  assert.equal(response.max_output_tokens, 9);
  assert.deepEqual(response.metadata, { k: "v" });
  assert.equal(response.tool_choice, "required");
  assert.deepEqual(response.text, { format: { type: "json_object" }, verbosity: "medium" });
  assert.deepEqual(response.tools, [{
    type: "function",
    name: "f",
    description: null,
    parameters: { type: "object" },
    strict: true,
  }]);
});

Deno.test("completionToResponse() without usage or choices stays a valid Response", async () => {
  const bare = completion({ content: "x" });
  delete (bare as { usage?: unknown }).usage;
  const noUsage = completionToResponse(bare, echoOf());
  assert.equal("usage" in noUsage, false);
  const empty = completionToResponse({ ...bare, choices: [] }, echoOf());
  assert.deepEqual(empty.output, []);
  const final = await readWithOpenAI(empty);
  assert.deepEqual(final.output, []);
});

Deno.test("responseEvents() is lazy: a reader that stops early stops the work", async () => {
  const response = completionToResponse(completion({ content: "word ".repeat(10_000) }), echoOf());
  const reader = responsesSseBody(responseEvents(response)).getReader();
  const first = await reader.read();
  assert.match(new TextDecoder().decode(first.value), /^event: response\.created\n/);
  await reader.cancel();
  const all = [...responseEvents(response)];
  const deltas = all.filter((e) => e.type === "response.output_text.delta");
  assert.ok(deltas.length > 1 && deltas.length <= 1024, `${deltas.length}`);
  assert.equal(deltas.map((e) => e.delta).join(""), "word ".repeat(10_000));
});
