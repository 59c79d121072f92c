/**
 * The official OpenAI SDK, end-to-end encrypted: hand it `client.fetch` and every chat
 * completion it sends goes sealed through `SecureChatCompletion` (create, stream, tools, and the
 * Responses API's `responses.create`, translated to a chat completion).
 *
 *   npx --yes deno@2 run --allow-net --allow-read --allow-env examples/openai_sdk.ts
 *
 * Runs under Node too (CI runs it bundled under Node 24). Without NOMYO_BASE_URL it starts the
 * embedded test router on 127.0.0.1; with NOMYO_BASE_URL (and NOMYO_API_KEY, NOMYO_MODEL) it
 * talks to that router.
 */
import process from "node:process";
import OpenAI from "npm:openai@7";
import { SecureChatCompletion } from "../mod.ts";
import { startTestRouter, type TestRouter } from "../src/testing/mod.ts";

const env = (name: string): string | undefined => {
  try {
    return process.env[name] || undefined;
  } catch {
    return undefined; // Deno without --allow-env
  }
};

const realUrl = env("NOMYO_BASE_URL");
const router: TestRouter | undefined = realUrl === undefined ? await startTestRouter() : undefined;
const model = env("NOMYO_MODEL") ?? "Qwen/Qwen3-0.6B";
try {
  await using client = new SecureChatCompletion(
    router === undefined ? { baseUrl: realUrl! } : { baseUrl: router.url, allowHttp: true },
  );
  // baseURL only has to end in /v1: client.fetch serves every …/chat/completions itself, and
  // the client has already retried, so the SDK must not retry again.
  const openai = new OpenAI({
    baseURL: "https://api.nomyo.ai/v1",
    apiKey: env("NOMYO_API_KEY") ?? "unused",
    maxRetries: 0,
    fetch: client.fetch,
  });

  const answer = await openai.chat.completions.create({
    model,
    messages: [{ role: "user", content: "Hello from the OpenAI SDK" }],
  });
  console.log("create:", answer.choices[0]?.message.content);

  const stream = await openai.chat.completions.create({
    model,
    messages: [{ role: "user", content: "Stream this, please" }],
    stream: true,
  });
  let streamed = "";
  for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? "";
  console.log("stream:", streamed);

  const withTool = await openai.chat.completions.create({
    model,
    messages: [{ role: "user", content: "Weather in Paris?" }],
    tools: [{
      type: "function",
      function: {
        name: "get_weather",
        parameters: { type: "object", properties: { city: { type: "string" } } },
      },
    }],
  });
  const call = withTool.choices[0]?.message.tool_calls?.[0];
  console.log("tool call:", call?.type === "function" ? call.function.name : "(none)");

  // The Responses API: translated to the same encrypted chat completion and back.
  const response = await openai.responses.create({ model, input: "Hello from responses" });
  console.log("responses:", response.output_text);

  try {
    await openai.models.list(); // not a chat completion: answered 404 locally, nothing sent
  } catch (error) {
    console.log("other endpoints:", error instanceof OpenAI.NotFoundError ? "404" : error);
  }

  if (router !== undefined) {
    const ok = answer.choices[0]?.message.content === "Echo: Hello from the OpenAI SDK" &&
      streamed === "Echo: Stream this, please" &&
      response.output_text === "Echo: Hello from responses" &&
      call?.type === "function" && call.function.name === "get_weather";
    console.log(ok ? "openai_sdk: ok" : "openai_sdk: FAILED");
    if (!ok) process.exitCode = 1;
  }
} finally {
  await router?.close();
}
