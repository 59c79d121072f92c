/**
 * The Responses door against the router written independently from PROTOCOL.md (Python,
 * pyca/cryptography): openai-node's `responses.create` / `responses.stream` and the AI SDK's
 * default OpenAI provider, text and a tool call, end-to-end encrypted with that router's keys.
 */
import assert from "node:assert/strict";
import OpenAI from "npm:openai@7";
import { createOpenAI } from "npm:@ai-sdk/openai@4";
import { generateText, jsonSchema, streamText, tool } from "npm:ai@7";
import { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import { startIndependentRouter } from "../interop/independent_router.ts";
import { PYTHON_MISSING, testNeeding } from "../_tools.ts";

const WEATHER: OpenAI.Responses.FunctionTool = {
  type: "function",
  name: "get_weather",
  parameters: { type: "object", properties: { echo: { type: "string" } }, required: ["echo"] },
  strict: false,
};

testNeeding(PYTHON_MISSING)(
  "Responses door: openai-node and the AI SDK against the independent router",
  async () => {
    const router = await startIndependentRouter({ apiKey: "sk-interop" });
    const client = new SecureChatCompletion({
      baseUrl: router.url,
      allowHttp: true,
      apiKey: "sk-interop",
      keySize: 2048,
      maxRetries: 0,
    });
    try {
      const openai = new OpenAI({
        baseURL: "https://nomyo.invalid/v1",
        apiKey: "unused",
        maxRetries: 0,
        fetch: client.fetch,
      });
      const text = await openai.responses.create({
        model: "m",
        input: "Grüße aus Zürich 🚀",
        security_tier: "high",
      } as OpenAI.Responses.ResponseCreateParamsNonStreaming);
      assert.equal(text.output_text, "Echo: Grüße aus Zürich 🚀");
      assert.equal(
        (text as unknown as { _metadata: { model_tier: string } })._metadata.model_tier,
        "high",
      );
      const stream = openai.responses.stream({ model: "m", input: "streamed through python" });
      const final = await stream.finalResponse();
      assert.equal(final.output_text, "Echo: streamed through python");
      const call = await openai.responses.create({ model: "m", input: "Paris", tools: [WEATHER] });
      const item = call.output[0];
      assert.ok(item?.type === "function_call");
      assert.equal(item.name, "get_weather");
      assert.deepEqual(JSON.parse(item.arguments), { echo: "Paris" });

      const model = createOpenAI({
        baseURL: "https://nomyo.invalid/v1",
        apiKey: "unused",
        fetch: client.fetch,
      })("m");
      const generated = await generateText({ model, prompt: "ai over python", maxRetries: 0 });
      assert.equal(generated.text, "Echo: ai over python");
      const streamed = streamText({
        model,
        prompt: "Rome",
        tools: {
          get_weather: tool({
            inputSchema: jsonSchema<{ echo: string }>({
              type: "object",
              properties: { echo: { type: "string" } },
              required: ["echo"],
            }),
          }),
        },
        maxRetries: 0,
      });
      const calls = await streamed.toolCalls;
      assert.equal(calls[0]?.toolName, "get_weather");
      assert.deepEqual(calls[0]?.input, { echo: "Rome" });
    } finally {
      await client.dispose();
      await router.close();
    }
  },
);
