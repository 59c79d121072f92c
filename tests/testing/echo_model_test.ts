import assert from "node:assert/strict";
import { echoCompletion } from "../../src/testing/echo_model.ts";

const tools = [{ type: "function", function: { name: "lookup" } }];

type Choice = {
  message: { content: string | null; tool_calls?: unknown[] };
  finish_reason: string;
};
const firstChoice = async (request: Record<string, unknown>): Promise<Choice> => {
  const completion = await echoCompletion(request, "p-1", 0);
  return (completion.choices as Choice[])[0]!;
};

Deno.test("echoCompletion() answers trailing tool results in text, without another call", async () => {
  const choice = await firstChoice({
    model: "m",
    tools,
    messages: [
      { role: "user", content: "Paris" },
      { role: "assistant", content: null, tool_calls: [] },
      { role: "tool", tool_call_id: "a", content: '"sunny"' },
      { role: "tool", tool_call_id: "b", content: '"warm"' },
    ],
  });
  assert.equal(choice.message.content, 'Tool result: "sunny" "warm"');
  assert.equal(choice.message.tool_calls, undefined);
  assert.equal(choice.finish_reason, "stop");
});

Deno.test("echoCompletion() still calls a tool when the tool results are not last", async () => {
  const choice = await firstChoice({
    model: "m",
    tools,
    messages: [
      { role: "tool", tool_call_id: "a", content: "old" },
      { role: "user", content: "again" },
    ],
  });
  assert.equal(choice.finish_reason, "tool_calls");
  assert.equal(choice.message.content, null);
});

Deno.test("echoCompletion() answers a json_schema response format with a JSON object", async () => {
  const choice = await firstChoice({
    model: "m",
    response_format: { type: "json_schema", json_schema: { name: "x", schema: {} } },
    messages: [{ role: "user", content: 'say "hi"' }],
  });
  assert.deepEqual(JSON.parse(choice.message.content!), { echo: 'say "hi"' });
  assert.equal(choice.finish_reason, "stop");
});

Deno.test("echoCompletion() answers JSON mode (json_object) with a JSON object, text otherwise", async () => {
  const json = await firstChoice({
    model: "m",
    response_format: { type: "json_object" },
    messages: [{ role: "user", content: "list\nthe {data}" }],
  });
  assert.deepEqual(JSON.parse(json.message.content!), { echo: "list\nthe {data}" });
  assert.equal(json.finish_reason, "stop");
  const text = await firstChoice({
    model: "m",
    response_format: { type: "text" },
    messages: [{ role: "user", content: "x" }],
  });
  assert.equal(text.message.content, "Echo: x");
});

Deno.test("echoCompletion() ignores hostile response_format and tool messages", async () => {
  for (
    const request of [
      { response_format: "json_schema" },
      { response_format: null },
      { response_format: ["json_schema"] },
      { response_format: "json_object" },
    ]
  ) {
    const choice = await firstChoice({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      ...request,
    });
    assert.equal(choice.message.content, "Echo: x");
  }
  const odd = await firstChoice({
    model: "m",
    messages: [{ role: "user", content: "x" }, null, { role: "tool", content: { no: "text" } }],
  });
  assert.equal(odd.message.content, "Tool result: ");
});
