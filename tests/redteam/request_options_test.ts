/**
 * Per-request mistakes that used to be silently ignored: an unknown request option (the AI
 * SDK's `abortSignal` never aborted; an `apiKey` there was dropped and the client's key sent),
 * and the client's own fields in camel case in the body (`apiKey` reached the model inside
 * the prompt as a parameter). Each is a `TypeError` that names the key, and nothing is sent.
 */
import assert from "node:assert/strict";
import { SecureChatCompletion } from "../../mod.ts";
import { startTestRouter } from "../../src/testing/mod.ts";

const ask = { model: "m", messages: [{ role: "user" as const, content: "hi" }] };

Deno.test("create() refuses unknown request options and camel-case client fields", async () => {
  const router = await startTestRouter();
  const client = new SecureChatCompletion({ baseUrl: router.url, allowHttp: true, keySize: 2048 });
  try {
    const cases: Array<[unknown, unknown, RegExp]> = [
      [ask, { abortSignal: new AbortController().signal }, /"abortSignal" \(use "signal"\)/],
      [ask, { apiKey: "sk-other" }, /"apiKey" \(put api_key in the request body\)/],
      [ask, { maxRetries: 0 }, /"maxRetries" \(a client option/],
      [ask, { bogus: 1 }, /"bogus" \(the request options are signal and timeout\)/],
      [ask, { signal: "soon" }, /signal must be an AbortSignal/],
      [ask, "fast", /options must be an object/],
      [{ ...ask, apiKey: "sk-in-the-prompt" }, {}, /field "apiKey" is spelt api_key/],
      [{ ...ask, baseURL: "https://r.example" }, {}, /field "baseURL" is spelt base_url/],
      [{ ...ask, securityTier: "high" }, {}, /field "securityTier" is spelt security_tier/],
    ];
    for (const [body, options, message] of cases) {
      await assert.rejects(
        client.create(body as never, options as never),
        (e: unknown) => e instanceof TypeError && message.test(e.message),
        `${JSON.stringify(body)} / ${JSON.stringify(options)}`,
      );
    }
    assert.equal(router.requests.length, 0, "nothing was sent");
    const controller = new AbortController();
    const answer = await client.create(ask, { signal: controller.signal, timeout: 5_000 });
    assert.equal(answer.choices[0]?.message.content, "Echo: hi");
  } finally {
    await client.dispose();
    await router.close();
  }
});
