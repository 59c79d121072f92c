/**
 * Shared setup of the OpenAI drop-in suites: a test router and a client on it, and the check
 * that the router saw exactly the sealed requests expected.
 */
import assert from "node:assert/strict";
import { startTestRouter, type TestRouter } from "../../src/testing/router.ts";
import { completions, withClient } from "../_client.ts";

export { completions, withClient };

/**
 * Asserts the router received exactly `count` completion requests, each a sealed package that
 * opened (the router recorded its plaintext) and that does not hold `secret` in the clear.
 */
export const assertSealed = (router: TestRouter, count: number, secret: string): void => {
  const seen = completions(router);
  assert.equal(seen.length, count, "sealed requests seen by the router");
  for (const r of seen) {
    const wire = new TextDecoder().decode(r.body);
    assert.ok(wire.includes('"encrypted_payload"'), "the body is a package");
    assert.ok(!wire.includes(secret), "the prompt never crosses the wire in the clear");
    assert.ok(typeof r.plaintext === "object" && r.plaintext !== null, "the package opened");
  }
};

/** The plaintext of the last completion request. */
/** A prompt the echo model answers in more than one text delta. */
export const LONG_PROMPT =
  "a long enough prompt that the echo model sends back in more than one delta";

/**
 * Checks an AI SDK `streamText()` result for {@linkcode LONG_PROMPT}: its text deltas join to
 * the echo, there are several, it finished with `stop` and usage, and one sealed request went.
 */
export const assertStreamedEcho = async (
  result: {
    readonly textStream: AsyncIterable<string>;
    readonly finishReason: PromiseLike<string>;
    readonly usage: PromiseLike<{ readonly totalTokens?: number | undefined }>;
  },
  router: TestRouter,
): Promise<void> => {
  const parts: string[] = [];
  for await (const part of result.textStream) parts.push(part);
  assert.equal(parts.join(""), `Echo: ${LONG_PROMPT}`);
  assert.ok(parts.length > 1, "several text deltas");
  assert.equal(await result.finishReason, "stop");
  assert.ok(((await result.usage).totalTokens ?? 0) > 0);
  assertSealed(router, 1, "long enough prompt");
};

export const lastPlaintext = (router: TestRouter): Record<string, unknown> =>
  completions(router).at(-1)?.plaintext as Record<string, unknown>;

/** Every HTTP error status mapped in the drop-in suites, with openai-node's class name. */
export const STATUSES: ReadonlyArray<readonly [number, string]> = [
  [400, "BadRequestError"],
  [401, "AuthenticationError"],
  [403, "PermissionDeniedError"],
  [404, "NotFoundError"],
  [409, "ConflictError"],
  [422, "UnprocessableEntityError"],
  [429, "RateLimitError"],
  [500, "InternalServerError"],
];

/** A request body. */
export const ask = (content: string): {
  model: string;
  messages: Array<{ role: "user"; content: string }>;
} => ({ model: "Qwen/Qwen3-0.6B", messages: [{ role: "user", content }] });

/** A tool for the echo model to call. */
export const WEATHER_TOOL = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "The weather in a city",
    parameters: {
      type: "object",
      properties: { echo: { type: "string" } },
      required: ["echo"],
    },
  },
};

/** The URL of a router that was started and closed: nothing listens there any more. */
export const closedRouterUrl = async (): Promise<string> => {
  const router = await startTestRouter();
  await router.close();
  return router.url;
};
