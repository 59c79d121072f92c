/**
 * This client against a NOMYO router written independently from PROTOCOL.md (Python,
 * pyca/cryptography): the wire format is the protocol's, not merely our own.
 */
import assert from "node:assert/strict";
import { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import { AuthenticationError } from "../../src/errors.ts";
import { startIndependentRouter } from "./independent_router.ts";
import { PYTHON_MISSING, testNeeding } from "../_tools.ts";

testNeeding(PYTHON_MISSING)(
  "SecureChatCompletion talks to the independent Python router",
  async () => {
    const router = await startIndependentRouter({ apiKey: "sk-interop", keySize: 4096 });
    const client = new SecureChatCompletion({
      baseUrl: router.url,
      allowHttp: true,
      apiKey: "sk-interop",
      maxRetries: 0,
    });
    try {
      const answer = await client.create({
        model: "Qwen/Qwen3-0.6B",
        messages: [{ role: "user", content: "Grüße aus Zürich 🚀" }],
        temperature: 0.3,
        security_tier: "high",
      });
      assert.equal(answer.choices[0]?.message.content, "Echo: Grüße aus Zürich 🚀");
      assert.equal(answer._metadata.is_encrypted, true);
      assert.match(answer._metadata.payload_id, /^[0-9a-f-]{36}$/);
      const tools = await client.create({
        model: "m",
        messages: [{ role: "user", content: "weather?" }],
        tools: [{ type: "function", function: { name: "get_weather", parameters: {} } }],
      });
      assert.equal(tools.choices[0]?.message.tool_calls?.[0]?.function.name, "get_weather");
      await assert.rejects(
        client.create({ model: "m", messages: [{ role: "user", content: "x" }], api_key: "wrong" }),
        AuthenticationError,
      );
    } finally {
      await client.dispose();
      await router.close();
    }
  },
);
