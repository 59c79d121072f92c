/**
 * The Vercel AI SDK, end-to-end encrypted: an OpenAI-compatible provider whose `fetch` is
 * `client.fetch` (generateText, streamText, tools).
 *
 *   npx --yes deno@2 run --allow-net --allow-read --allow-env --allow-sys examples/ai_sdk.ts
 *
 * Without NOMYO_BASE_URL it starts the embedded test router on 127.0.0.1.
 */
import process from "node:process";
import { createOpenAICompatible } from "npm:@ai-sdk/openai-compatible@3";
import { generateText, jsonSchema, streamText, tool } from "npm:ai@7";
import { SecureChatCompletion } from "../mod.ts";
import { startTestRouter, type TestRouter } from "../src/testing/mod.ts";

const env = (name: string): string | undefined => {
  try {
    return process.env[name] || undefined;
  } catch {
    return undefined;
  }
};

const realUrl = env("NOMYO_BASE_URL");
const router: TestRouter | undefined = realUrl === undefined ? await startTestRouter() : undefined;
try {
  await using client = new SecureChatCompletion(
    router === undefined ? { baseUrl: realUrl! } : { baseUrl: router.url, allowHttp: true },
  );
  const nomyo = createOpenAICompatible({
    name: "nomyo",
    baseURL: "https://api.nomyo.ai/v1",
    fetch: client.fetch,
    includeUsage: true,
  });
  const model = nomyo.chatModel(env("NOMYO_MODEL") ?? "Qwen/Qwen3-0.6B");

  // maxRetries: 0 — the client has already retried.
  const { text, usage } = await generateText({
    model,
    prompt: "Hello from the AI SDK",
    maxRetries: 0,
  });
  console.log("generateText:", text, `(${usage.totalTokens} tokens)`);

  const result = streamText({ model, prompt: "Stream this, please", maxRetries: 0 });
  let streamed = "";
  for await (const part of result.textStream) streamed += part;
  console.log("streamText:", streamed);

  const { toolCalls } = await generateText({
    model,
    prompt: "Weather in Paris?",
    maxRetries: 0,
    tools: {
      get_weather: tool({
        description: "Current weather for a city",
        inputSchema: jsonSchema<{ city?: string }>({
          type: "object",
          properties: { city: { type: "string" } },
        }),
        execute: ({ city }) => Promise.resolve(`sunny in ${city ?? "?"}`),
      }),
    },
  });
  console.log("tool call:", toolCalls[0]?.toolName);
} finally {
  await router?.close();
}
