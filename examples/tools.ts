/**
 * Tool calling through the encrypted channel (OpenAI-style `tools`), on the test router.
 *
 *   npx --yes deno@2 run --allow-net=127.0.0.1 --allow-read --allow-env examples/tools.ts
 */
import { SecureChatCompletion, type Tool } from "../mod.ts";
import { startTestRouter } from "../src/testing/mod.ts";

const router = await startTestRouter();
try {
  await using client = new SecureChatCompletion({ baseUrl: router.url, allowHttp: true });
  const tools: Tool[] = [{
    type: "function",
    function: {
      name: "get_weather",
      description: "Current weather for a city",
      parameters: {
        type: "object",
        properties: { location: { type: "string" } },
        required: ["location"],
      },
    },
  }];
  const answer = await client.create({
    model: "Qwen/Qwen3-0.6B",
    messages: [{ role: "user", content: "What's the weather in Paris?" }],
    tools,
    tool_choice: "auto",
  });
  const call = answer.choices[0]?.message.tool_calls?.[0];
  console.log("finish_reason:", answer.choices[0]?.finish_reason);
  console.log("tool call:", call?.function.name, call?.function.arguments);
} finally {
  await router.close();
}
