/**
 * What the bounded-depth JSON guard (`src/protocol/json.ts`) costs on the answer path: the
 * opened plaintext → `ChatCompletion` (`toChatCompletion`: UTF-8, `JSON.parse`, the depth walk,
 * `Schema.is`), against the same without the walk, for two 1 MiB answers: one long text (the
 * usual case) and one made of 48,000 small objects and arrays (logprobs: the walk's worst).
 *
 * ```sh
 * deno bench --allow-read --allow-net=127.0.0.1 --allow-env bench/json_bench.ts
 * ```
 *
 * @module
 */
import { Schema } from "effect";
import { ChatCompletionBody } from "../src/protocol/chat.ts";
import { toChatCompletion } from "../src/protocol/response.ts";
import { decodeUtf8Strict } from "../src/protocol/utf8.ts";

const utf8 = new TextEncoder();
const isBody = Schema.is(ChatCompletionBody);
const answer = (choice: Record<string, unknown>) =>
  utf8.encode(JSON.stringify({
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1,
    model: "m",
    choices: [{ index: 0, finish_reason: "stop", ...choice }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  }));
const cases = {
  "1 MiB text": answer({
    message: { role: "assistant", content: "Lorem ipsum dolor sit amet ".repeat(40_000) },
  }),
  "1 MiB logprobs": answer({
    message: { role: "assistant", content: "x" },
    logprobs: {
      content: Array.from({ length: 12_000 }, (_, i) => ({
        token: `tok${i}`,
        logprob: -0.1,
        bytes: [1, 2, 3],
        top_logprobs: [{ token: "a", logprob: -1 }],
      })),
    },
  }),
};
const pkg = { processedAt: 1, algorithm: "hybrid-aes256-rsa4096" } as const;

for (const [group, bytes] of Object.entries(cases)) {
  Deno.bench({
    group,
    name: `without the walk: JSON.parse + Schema.is (${group})`,
    baseline: true,
    fn: () => {
      isBody(JSON.parse(decodeUtf8Strict(bytes)));
    },
  });
  Deno.bench({
    group,
    name: `toChatCompletion (${group})`,
    fn: () => {
      toChatCompletion(bytes, pkg, "payload-id");
    },
  });
}
