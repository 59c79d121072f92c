import assert from "node:assert/strict";
import { PUBLIC_KEY_PATH } from "../../src/protocol/endpoints.ts";
import { PUBLIC_KEY_HEADER, SECURITY_TIER_HEADER } from "../../src/protocol/headers.ts";
import { startTestRouter } from "../../src/testing/router.ts";
import {
  chat,
  completionHeaders,
  fetchRouterKey,
  generateClientKeys,
  postCompletion,
  seal,
  sha256Hex,
} from "../testing/_plain_client.ts";
import { startIndependentRouter } from "./independent_router.ts";
import { here } from "./_python.ts";
import { PYTHON_MISSING, testNeeding } from "../_tools.ts";

interface PythonResult {
  readonly code: number;
  readonly output: Record<string, unknown>;
}

/** Runs python_client.py against `url` and parses the JSON it prints. */
const runPythonClient = async (url: string, ...args: string[]): Promise<PythonResult> => {
  const { code, stdout, stderr } = await new Deno.Command("python3", {
    args: [here("python_client.py"), url, ...args],
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(stdout);
  try {
    return { code, output: JSON.parse(text) };
  } catch {
    throw new Error(
      `python_client.py exited ${code}: ${text}\n${new TextDecoder().decode(stderr)}`,
    );
  }
};

const pythonTest = testNeeding(PYTHON_MISSING);

pythonTest(
  "python_client.py (nomyo 0.1.x style) gets a sealed echo answer from startTestRouter()",
  async () => {
    const router = await startTestRouter();
    try {
      // 4096 bits, as the Python client generates: the answer is sealed to a 4096-bit key.
      const { code, output } = await runPythonClient(
        router.url,
        "--message",
        "Grüße aus Python 🐍",
      );
      assert.equal(code, 0, JSON.stringify(output));
      const recorded = router.requests.find((r) => r.method === "POST")!;
      const metadata = output._metadata as Record<string, unknown>;
      assert.equal(metadata.payload_id, recorded.payloadId);
      assert.match(
        recorded.payloadId!,
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      assert.equal(metadata.is_encrypted, true);
      assert.equal(metadata.encryption_algorithm, "hybrid-aes256-rsa4096");
      assert.equal(typeof metadata.processed_at, "number");
      assert.equal(output.id, `chatcmpl-${(await sha256Hex(recorded.payloadId!)).slice(0, 12)}`);
      assert.equal(output.model, "Qwen/Qwen3-0.6B");
      assert.deepEqual(output.choices, [{
        index: 0,
        message: { role: "assistant", content: "Echo: Grüße aus Python 🐍" },
        finish_reason: "stop",
      }]);
      // What Python sent, as the router saw it.
      assert.deepEqual(recorded.plaintext, {
        model: "Qwen/Qwen3-0.6B",
        messages: [
          { role: "system", content: "You are a helpful assistant." },
          { role: "user", content: "Grüße aus Python 🐍" },
        ],
        temperature: 0.7,
      });
      const quoted = recorded.headers[PUBLIC_KEY_HEADER.toLowerCase()]!;
      assert.match(quoted, /^-----BEGIN%20PUBLIC%20KEY-----%0A/); // urllib.parse.quote
      assert.doesNotMatch(quoted, /%2F/); // quote keeps "/"
      assert.match(new TextDecoder().decode(recorded.body), /^\{"version": "1\.0", "algorithm": /);
      assert.equal(router.publicKeyFetches, 1);
    } finally {
      await router.close();
    }
  },
);

pythonTest(
  "python_client.py calls tools, sends tiers and the API key; errors come back as statuses",
  async () => {
    const router = await startTestRouter({ apiKey: "sk-python" });
    try {
      const common = ["--key-size", "2048", "--api-key", "sk-python"];
      const tools = await runPythonClient(
        router.url,
        ...common,
        "--tools",
        "--security-tier",
        "high",
        "--message",
        "Weather in Paris?",
      );
      assert.equal(tools.code, 0, JSON.stringify(tools.output));
      const choice = (tools.output.choices as Record<string, unknown>[])[0]!;
      assert.equal(choice.finish_reason, "tool_calls");
      const call = (choice.message as { tool_calls: { function: unknown }[] }).tool_calls[0]!;
      assert.deepEqual(call.function, {
        name: "get_weather",
        arguments: '{"echo":"Weather in Paris?"}',
      });
      assert.equal((tools.output._metadata as Record<string, unknown>).model_tier, "high");

      const unauthorized = await runPythonClient(router.url, "--key-size", "2048");
      assert.deepEqual(unauthorized, {
        code: 1,
        output: { error: { status: 401, detail: "Invalid API key" } },
      });
      const maximum = await runPythonClient(router.url, ...common, "--security-tier", "maximum");
      assert.equal(maximum.code, 1);
      assert.equal((maximum.output.error as { status: number }).status, 503);
      router.inject({ tamper: "tag" });
      const tampered = await runPythonClient(router.url, ...common);
      assert.deepEqual(tampered, {
        code: 2,
        output: { error: { status: null, detail: "decryption failed" } },
      });
    } finally {
      await router.close();
    }
  },
);

pythonTest(
  "startIndependentRouter() serves a plain WebCrypto client and refuses bad requests",
  async () => {
    const router = await startIndependentRouter({ apiKey: "sk-indep" });
    try {
      assert.match(router.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const keys = await generateClientKeys();
      const routerKey = await fetchRouterKey(router.url);
      const auth = { Authorization: "Bearer sk-indep" };
      const request = {
        model: "m",
        messages: [{ role: "user", content: "ping pong" }],
        n: 2,
      };
      const { completion, payloadId } = await chat(router.url, routerKey, keys, request, auth);
      assert.equal(completion.id, `chatcmpl-${(await sha256Hex(payloadId)).slice(0, 12)}`);
      assert.equal(completion.object, "chat.completion");
      assert.deepEqual(
        (completion.choices as { message: { content: string } }[]).map((c) => c.message.content),
        ["Echo: ping pong", "Echo: ping pong"],
      );
      assert.deepEqual(completion.usage, {
        prompt_tokens: 2,
        completion_tokens: 6,
        total_tokens: 8,
      });

      const body = JSON.stringify(await seal(request, routerKey));
      const cases: [Record<string, string>, string, number, RegExp][] = [
        [completionHeaders(keys), body, 401, /Invalid API key/],
        [completionHeaders(keys, { ...auth, [SECURITY_TIER_HEADER]: "maximum" }), body, 503, /TPM/],
        [completionHeaders(keys, { ...auth, [SECURITY_TIER_HEADER]: "ultra" }), body, 400, /Tier/],
        [
          completionHeaders(keys, { ...auth, "Content-Type": "application/json" }),
          body,
          400,
          /Content-Type/,
        ],
        [
          completionHeaders(keys, auth),
          JSON.stringify(await seal(request, keys.publicKey)),
          400,
          /^Cannot decrypt payload: decryption failed$/,
        ],
      ];
      for (const [headers, caseBody, status, pattern] of cases) {
        const response = await postCompletion(router.url, caseBody, headers);
        assert.equal(response.status, status, response.text);
        assert.match((JSON.parse(response.text) as { detail: string }).detail, pattern);
      }
    } finally {
      await router.close();
    }
    await router.close(); // idempotent
    await assert.rejects(fetch(`${router.url}${PUBLIC_KEY_PATH}`));
  },
);

pythonTest("python_client.py and independent_router.py agree with each other", async () => {
  const router = await startIndependentRouter();
  try {
    const { code, output } = await runPythonClient(
      router.url,
      "--key-size",
      "2048",
      "--message",
      "both Python",
    );
    assert.equal(code, 0, JSON.stringify(output));
    assert.equal(
      (output.choices as { message: { content: string } }[])[0]!.message.content,
      "Echo: both Python",
    );
  } finally {
    await router.close();
  }
});
