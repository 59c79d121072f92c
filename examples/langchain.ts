/**
 * LangChain, end-to-end encrypted: `ChatOpenAI` with `configuration.fetch` set to
 * `client.fetch` (invoke, stream, tools).
 *
 *   npx --yes deno@2 run --allow-net --allow-read --allow-env examples/langchain.ts
 *
 * Without NOMYO_BASE_URL it starts the embedded test router on 127.0.0.1.
 */
import process from "node:process";
import { ChatOpenAI } from "npm:@langchain/openai@1";
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
  const chat = new ChatOpenAI({
    model: env("NOMYO_MODEL") ?? "Qwen/Qwen3-0.6B",
    apiKey: env("NOMYO_API_KEY") ?? "unused",
    maxRetries: 0, // the client has already retried
    configuration: { baseURL: "https://api.nomyo.ai/v1", fetch: client.fetch },
  });

  const message = await chat.invoke("Hello from LangChain");
  console.log("invoke:", message.content);

  let streamed = "";
  for await (const chunk of await chat.stream("Stream this, please")) {
    if (typeof chunk.content === "string") streamed += chunk.content;
  }
  console.log("stream:", streamed);

  const withTools = chat.bindTools([{
    type: "function",
    function: {
      name: "get_weather",
      description: "Current weather for a city",
      parameters: { type: "object", properties: { city: { type: "string" } } },
    },
  }]);
  const called = await withTools.invoke("Weather in Paris?");
  console.log("tool call:", called.tool_calls?.[0]?.name);
} finally {
  await router?.close();
}
