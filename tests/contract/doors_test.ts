/**
 * The request contract, door by door: one table of cases run through every door the client
 * has — `create()`, `create({ stream: true })`, `client.fetch`, the proxy over HTTP,
 * `sendSecureRequest`, the Effect service's `SecureCompletion.create` and Effect AI's
 * `LanguageModel.generateText` — and judged from what the
 * test routers saw. A client-side field (`security_tier`, `api_key`, `base_url`, `stream`,
 * `stream_options`, in snake or camel case) is applied or refused, as the door's policy below
 * says; it never reaches the plaintext; an inherited property or a polluted `Object.prototype`
 * never changes where the request goes, its tier or its key. The policy table is the test's
 * own, written from the README, not read from the code under test.
 */
import * as LanguageModel from "@effect/ai/LanguageModel";
import { Cause, Effect, Exit, ManagedRuntime, Option } from "effect";
import assert from "node:assert/strict";
import { nomyoLayerFetch } from "../../src/client/layer.ts";
import { type CompletionOverrides, SecureCompletion } from "../../src/client/secure_completion.ts";
import { layer } from "../../src/effect_ai/language_model.ts";
import type { ChatCompletionRequest } from "../../src/protocol/chat.ts";
import { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import { SecureCompletionClient } from "../../src/promise/secure_completion_client.ts";
import { serveProxy } from "../../src/proxy/proxy.ts";
import {
  type RecordedRequest,
  startTestRouter,
  type TestRouter,
  type TestRouterOptions,
} from "../../src/testing/router.ts";

type Door =
  | "create"
  | "create stream"
  | "client.fetch"
  | "client.fetch /responses"
  | "proxy"
  | "sendSecureRequest"
  | "SecureCompletion.create"
  | "Effect AI";

const DOORS: ReadonlyArray<Door> = [
  "create",
  "create stream",
  "client.fetch",
  "client.fetch /responses",
  "proxy",
  "sendSecureRequest",
  "SecureCompletion.create",
  "Effect AI",
];

/** What a door gives the case: the request went out, or was refused with a message. */
type Outcome =
  | { readonly sent: true; readonly text: string }
  | { readonly sent: false; readonly message: string };

/** What a case expects at a door. */
type Expect =
  | {
    readonly sent: true;
    /** The `X-Security-Tier` header the router saw (absent when `undefined`). */
    readonly tier?: string;
    /** The `Authorization` header the router saw (absent when `undefined`). */
    readonly authorization?: string;
    /** The router that got it (default: home). */
    readonly at?: "home" | "other";
    /** A field the plaintext must hold as is. */
    readonly kept?: Readonly<Record<string, unknown>>;
  }
  | { readonly refused: RegExp }
  /** The door has no such shape (no per-request options): the case does not apply to it. */
  | { readonly notApplicable: string };

const CANARY_KEY = "sk-canary-0123456789";

interface Case {
  readonly name: string;
  /** Fields added to the body (a prototype, if the case gives one, is kept). */
  readonly fields?: (urls: Urls) => object;
  /** The per-request options of `create()`, or the settings of Effect AI. */
  readonly options?: (urls: Urls) => object;
  /** Properties set on `Object.prototype` while the case runs. */
  readonly pollute?: (urls: Urls) => Record<string, unknown>;
  readonly expect: { readonly [D in ChatDoor]: Expect };
  /**
   * At the Responses door (`POST …/responses`, translated to the same chat request): what the
   * chat door over HTTP gets, unless said here.
   */
  readonly responses?: Expect;
}

/** The doors a case names; the Responses door follows `client.fetch` (see `Case.responses`). */
type ChatDoor = Exclude<Door, "client.fetch /responses">;

/** What a case expects at a door. */
const expectOf = (c: Case, door: Door): Expect =>
  door === "client.fetch /responses" ? c.responses ?? c.expect["client.fetch"] : c.expect[door];

interface Urls {
  readonly other: string;
  readonly evil: string;
}

const sent: Expect = { sent: true };
const every = (expect: Expect): { readonly [D in ChatDoor]: Expect } =>
  Object.fromEntries(DOORS.map((d) => [d, expect])) as { readonly [D in ChatDoor]: Expect };

/** A body field applied by the Promise doors and `sendSecureRequest`, refused over HTTP. */
const promiseOnly = (applied: Expect, http: RegExp, ai: RegExp) => ({
  "create": applied,
  "create stream": applied,
  "client.fetch": { refused: http },
  "proxy": { refused: http },
  "sendSecureRequest": applied,
  "SecureCompletion.create": applied,
  "Effect AI": { refused: ai },
});

/** Another spelling of a client field: refused by every door, naming the spelling. */
const misspelt = (key: string): { readonly [D in ChatDoor]: Expect } =>
  every({ refused: new RegExp(`"${key}"`) });

const CASES: ReadonlyArray<Case> = [
  {
    name: "security_tier",
    fields: () => ({ security_tier: "high" }),
    expect: {
      ...every({ sent: true, tier: "high" }),
      "Effect AI": { refused: /security_tier.*config\.securityTier/ },
    },
  },
  {
    name: "securityTier",
    fields: () => ({ securityTier: "high" }),
    expect: misspelt("securityTier"),
  },
  {
    name: "SECURITY_TIER",
    fields: () => ({ SECURITY_TIER: "high" }),
    expect: misspelt("SECURITY_TIER"),
  },
  {
    name: "api_key",
    fields: () => ({ api_key: CANARY_KEY }),
    expect: promiseOnly(
      { sent: true, authorization: `Bearer ${CANARY_KEY}` },
      /api_key.*Authorization: Bearer/,
      /api_key.*config\.apiKey/,
    ),
  },
  { name: "apiKey", fields: () => ({ apiKey: CANARY_KEY }), expect: misspelt("apiKey") },
  {
    name: "base_url",
    fields: ({ other }) => ({ base_url: other }),
    expect: promiseOnly({ sent: true, at: "other" }, /base_url/, /base_url.*config\.baseUrl/),
  },
  { name: "baseUrl", fields: ({ evil }) => ({ baseUrl: evil }), expect: misspelt("baseUrl") },
  { name: "baseURL", fields: ({ evil }) => ({ baseURL: evil }), expect: misspelt("baseURL") },
  { name: "routerUrl", fields: ({ evil }) => ({ routerUrl: evil }), expect: misspelt("routerUrl") },
  {
    name: "stream: true",
    fields: () => ({ stream: true }),
    expect: {
      ...every(sent),
      "sendSecureRequest": { refused: /stream/ },
      "SecureCompletion.create": { refused: /stream.*answers whole/ },
      "Effect AI": { refused: /stream.*streamText/ },
    },
  },
  {
    name: "stream_options",
    fields: () => ({ stream_options: { include_usage: true } }),
    expect: { ...every({ refused: /stream_options/ }), "create stream": sent },
  },
  {
    name: "streamOptions",
    fields: () => ({ streamOptions: { include_usage: true } }),
    expect: misspelt("streamOptions"),
  },
  {
    name: "an unknown body field (a model parameter: sent as it is)",
    fields: () => ({ frobnicate: 7 }),
    expect: every({ sent: true, kept: { frobnicate: 7 } }),
    // The Responses request is a closed set of fields: one it does not have is refused.
    responses: { refused: /frobnicate/ },
  },
  {
    name: "inherited body fields (Object.create({ base_url, api_key, security_tier }))",
    fields: ({ evil }) =>
      Object.create({ base_url: evil, api_key: CANARY_KEY, security_tier: "maximum" }),
    expect: {
      ...every({ refused: /inherited/ }),
      // Over HTTP there is no prototype: JSON carries own fields only.
      "client.fetch": sent,
      "proxy": sent,
    },
  },
  {
    name: "an inherited camel-case field (Object.create({ baseUrl }))",
    fields: ({ evil }) => Object.create({ baseUrl: evil }),
    expect: { ...every({ refused: /inherited/ }), "client.fetch": sent, "proxy": sent },
  },
  {
    name: "a polluted Object.prototype",
    pollute: ({ evil }) => ({
      base_url: evil,
      baseUrl: evil,
      baseURL: evil,
      routerUrl: evil,
      api_key: CANARY_KEY,
      apiKey: CANARY_KEY,
      security_tier: "maximum",
      securityTier: "maximum",
      payloadId: "polluted-payload-id",
      timeout: 1,
      params: { security_tier: "maximum" },
    }),
    expect: every(sent),
  },
  {
    name: "an unknown per-request option or setting",
    options: () => ({ securitytier: "high" }),
    expect: {
      "create": { refused: /unknown request option "securitytier"/ },
      "create stream": { refused: /unknown request option "securitytier"/ },
      "client.fetch": { notApplicable: "an HTTP request has no per-request options" },
      "proxy": { notApplicable: "an HTTP request has no per-request options" },
      "sendSecureRequest": { notApplicable: "its options are positional arguments" },
      "SecureCompletion.create": {
        refused: /unknown override "securitytier" \(did you mean "securityTier"\?\)/,
      },
      "Effect AI": { refused: /unknown option "securitytier" \(did you mean "securityTier"\?\)/ },
    },
  },
  {
    name: "inherited per-request options or settings (Object.create({ ... }))",
    options: ({ evil }) => Object.create({ timeout: 5_000, baseUrl: evil }),
    expect: {
      "create": { refused: /timeout is inherited/ },
      "create stream": { refused: /timeout is inherited/ },
      "client.fetch": { notApplicable: "an HTTP request has no per-request options" },
      "proxy": { notApplicable: "an HTTP request has no per-request options" },
      "sendSecureRequest": { notApplicable: "its options are positional arguments" },
      "SecureCompletion.create": { refused: /override baseUrl is inherited/ },
      "Effect AI": { refused: /baseUrl is inherited/ },
    },
  },
  {
    name: "Effect AI settings in their own shape (camel case); create()'s in its body",
    options: () => ({ securityTier: "high" }),
    expect: {
      "create": { refused: /unknown request option "securityTier" \(put security_tier/ },
      "create stream": { refused: /unknown request option "securityTier" \(put security_tier/ },
      "client.fetch": { notApplicable: "an HTTP request has no per-request options" },
      "proxy": { notApplicable: "an HTTP request has no per-request options" },
      "sendSecureRequest": { notApplicable: "its options are positional arguments" },
      "SecureCompletion.create": { sent: true, tier: "high" },
      "Effect AI": { sent: true, tier: "high" },
    },
  },
];

/** Keys that fold (case, `_`, `-` blind) to a client-side name: none may reach the model. */
const CLIENT_NAMES = new Set([
  "securitytier",
  "apikey",
  "baseurl",
  "routerurl",
  "stream",
  "streamoptions",
]);
const fold = (key: string) => key.toLowerCase().replace(/[_\-\s]/g, "");

/** A body: the case's fields (own and inherited), then the model and the prompt. */
const bodyOf = (fields: object | undefined, prompt: string): Record<string, unknown> => {
  const body = Object.create(
    fields === undefined ? Object.prototype : Object.getPrototypeOf(fields),
  );
  return Object.assign(body, fields, { model: "m", messages: [{ role: "user", content: prompt }] });
};

/** A Responses body: the case's fields, then the model and the prompt as `input`. */
const responsesBodyOf = (fields: object | undefined, prompt: string): Record<string, unknown> =>
  Object.assign({}, fields, { model: "m", input: prompt });

/** The Responses door: 400 is refused; 200 a `Response` object or its event stream. */
const settleResponses = async (response: Response): Promise<Outcome> => {
  if (response.status === 400) {
    const body = await response.json() as { error: { message: string } };
    return { sent: false, message: body.error.message };
  }
  assert.equal(response.status, 200, await response.clone().text());
  if (!(response.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
    const answer = await response.json() as {
      output: Array<{ content?: Array<{ type: string; text?: string }> }>;
    };
    const parts = answer.output.flatMap((item) => item.content ?? []);
    return { sent: true, text: parts.map((p) => p.type === "output_text" ? p.text : "").join("") };
  }
  const events = (await response.text()).split("\n").filter((l) => l.startsWith("data: "))
    .map((l) => JSON.parse(l.slice("data: ".length)) as { type: string; delta?: string });
  const text = events.filter((e) => e.type === "response.output_text.delta")
    .map((e) => e.delta ?? "").join("");
  return { sent: true, text };
};

/** The answer's text, from a completion or from the chunks of a stream. */
const textOf = async (answer: unknown): Promise<string> => {
  if (typeof answer === "object" && answer !== null && Symbol.asyncIterator in answer) {
    let text = "";
    for await (
      const chunk of answer as AsyncIterable<{ choices: Array<{ delta: { content?: string } }> }>
    ) {
      text += chunk.choices[0]?.delta.content ?? "";
    }
    return text;
  }
  return (answer as { choices: Array<{ message: { content: string } }> }).choices[0]!.message
    .content;
};

/** A Promise door: resolved is sent, a `TypeError` is refused, anything else fails the test. */
const settle = async (run: () => Promise<unknown>): Promise<Outcome> => {
  try {
    return { sent: true, text: await textOf(await run()) };
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return { sent: false, message: error.message };
  }
};

/** An HTTP door: 200 is sent (JSON or an event stream), 400 in OpenAI's shape is refused. */
const settleHttp = async (response: Response): Promise<Outcome> => {
  if (response.status === 400) {
    const body = await response.json() as { error: { message: string } };
    return { sent: false, message: body.error.message };
  }
  assert.equal(response.status, 200, await response.clone().text());
  if (!(response.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
    return { sent: true, text: await textOf(await response.json()) };
  }
  const events = (await response.text()).split("\n\n").filter((e) =>
    e !== "" && e !== "data: [DONE]"
  );
  const text = events.map((e) =>
    JSON.parse(e.slice("data: ".length)).choices[0]?.delta.content ?? ""
  )
    .join("");
  return { sent: true, text };
};

/** An Effect door: success is sent, a defect that is a `TypeError` is refused. */
const settleExit = (exit: Exit.Exit<string, unknown>): Outcome => {
  if (Exit.isSuccess(exit)) return { sent: true, text: exit.value };
  const defect = Cause.dieOption(exit.cause);
  assert.ok(Option.isSome(defect) && defect.value instanceof TypeError, Cause.pretty(exit.cause));
  return { sent: false, message: defect.value.message };
};

const completionsOf = (router: TestRouter): ReadonlyArray<RecordedRequest> =>
  router.requests.filter((r) => r.path === "/v1/chat/secure_completion");

Deno.test("every door applies or refuses each client-side field, and no inherited property redirects a request", async () => {
  // `apiKey` is given as an own `undefined`: the test router reads its options with `.apiKey`,
  // and the polluted case sets `Object.prototype.apiKey` (the client must ignore it; the
  // router is not under test here).
  const routerOptions = { apiKey: undefined } as unknown as TestRouterOptions;
  const home = await startTestRouter(routerOptions);
  const other = await startTestRouter(routerOptions);
  const evil = await startTestRouter(routerOptions);
  const urls: Urls = { other: other.url, evil: evil.url };
  const options = { baseUrl: home.url, allowHttp: true, keySize: 2048 as const, maxRetries: 0 };
  const client = new SecureChatCompletion(options);
  const lower = new SecureCompletionClient(options);
  const proxy = await serveProxy({ handler: client.fetch });
  const effect = ManagedRuntime.make(nomyoLayerFetch(options));

  const doors: {
    readonly [D in Door]: (prompt: string, c: Case) => Promise<Outcome>;
  } = {
    "create": (prompt, c) =>
      settle(() =>
        client.create(bodyOf(c.fields?.(urls), prompt) as never, c.options?.(urls) as never)
      ),
    "create stream": (prompt, c) =>
      settle(() =>
        client.create(
          Object.assign(bodyOf(c.fields?.(urls), prompt), { stream: true }) as never,
          c.options?.(urls) as never,
        )
      ),
    "client.fetch": async (prompt, c) =>
      settleHttp(
        await client.fetch(
          new Request("http://nomyo.invalid/v1/chat/completions", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(bodyOf(c.fields?.(urls), prompt)),
          }),
        ),
      ),
    "client.fetch /responses": async (prompt, c) =>
      settleResponses(
        await client.fetch(
          new Request("http://nomyo.invalid/v1/responses", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(responsesBodyOf(c.fields?.(urls), prompt)),
          }),
        ),
      ),
    "proxy": async (prompt, c) =>
      settleHttp(
        await fetch(`${proxy.url}/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(bodyOf(c.fields?.(urls), prompt)),
        }),
      ),
    "sendSecureRequest": (prompt, c) =>
      settle(() =>
        lower.sendSecureRequest(bodyOf(c.fields?.(urls), prompt) as never, crypto.randomUUID())
      ),
    "SecureCompletion.create": async (prompt, c) => {
      const body = bodyOf(c.fields?.(urls), prompt) as ChatCompletionRequest;
      const overrides = (c.options?.(urls) ?? {}) as CompletionOverrides;
      const exit = await effect.runPromiseExit(
        Effect.flatMap(SecureCompletion, (service) => service.create(body, overrides)),
      );
      return settleExit(Exit.map(exit, (answer) => answer.choices[0]!.message.content ?? ""));
    },
    "Effect AI": async (prompt, c) => {
      const fields = c.fields?.(urls);
      const config = {
        ...(fields === undefined ? {} : { params: fields }),
      };
      const settings = c.options?.(urls) ?? config;
      const exit = await effect.runPromiseExit(
        LanguageModel.generateText({ prompt }).pipe(
          Effect.provide(layer({ model: "m", config: settings as never })),
        ),
      );
      if (Exit.isSuccess(exit)) return { sent: true, text: exit.value.text };
      const defect = Cause.dieOption(exit.cause);
      assert.ok(
        Option.isSome(defect) && defect.value instanceof TypeError,
        Cause.pretty(exit.cause),
      );
      return { sent: false, message: defect.value.message };
    },
  };

  const counted: Record<Door, number> = Object.fromEntries(DOORS.map((d) => [d, 0])) as Record<
    Door,
    number
  >;
  try {
    for (const c of CASES) {
      for (const door of DOORS) {
        const expect = expectOf(c, door);
        const where = `${c.name} through ${door}`;
        if ("notApplicable" in expect) continue; // the table says why; nothing to run
        const prompt = `prompt ${crypto.randomUUID()}`;
        const before = {
          home: completionsOf(home).length,
          other: completionsOf(other).length,
          evil: evil.requests.length,
        };
        const polluted = c.pollute?.(urls) ?? {};
        for (const [key, value] of Object.entries(polluted)) {
          Object.defineProperty(Object.prototype, key, {
            value,
            configurable: true,
            writable: true,
            enumerable: false,
          });
        }
        let outcome: Outcome;
        try {
          outcome = await doors[door](prompt, c);
        } finally {
          for (const key of Object.keys(polluted)) {
            delete (Object.prototype as Record<string, unknown>)[key];
          }
        }
        counted[door]++;
        assert.equal(evil.requests.length, before.evil, `${where}: the evil router got nothing`);
        const fresh = {
          home: completionsOf(home).slice(before.home),
          other: completionsOf(other).slice(before.other),
        };
        if ("refused" in expect) {
          assert.ok(!outcome.sent, `${where}: refused`);
          assert.match(outcome.message, expect.refused, where);
          assert.ok(!outcome.message.includes(CANARY_KEY), `${where}: no key in the message`);
          assert.equal(fresh.home.length + fresh.other.length, 0, `${where}: nothing was sent`);
          continue;
        }
        assert.ok(
          outcome.sent,
          `${where}: sent, not refused (${outcome.sent ? "" : outcome.message})`,
        );
        assert.equal(outcome.text, `Echo: ${prompt}`, where);
        const at = expect.at ?? "home";
        assert.equal(fresh[at].length, 1, `${where}: one request to the ${at} router`);
        assert.equal(fresh[at === "home" ? "other" : "home"].length, 0, `${where}: and no other`);
        const seen = fresh[at][0]!;
        assert.equal(seen.headers["x-security-tier"], expect.tier, `${where}: the tier header`);
        assert.equal(seen.headers["authorization"], expect.authorization, `${where}: the key`);
        const plaintext = seen.plaintext as Record<string, unknown>;
        assert.deepEqual(plaintext.messages, [{ role: "user", content: prompt }], where);
        const leaked = Object.keys(plaintext).filter((key) => CLIENT_NAMES.has(fold(key)));
        assert.deepEqual(leaked, [], `${where}: no client-side field in the plaintext`);
        const json = JSON.stringify(plaintext);
        for (const secret of [CANARY_KEY, evil.url, other.url, "maximum"]) {
          assert.ok(!json.includes(secret), `${where}: ${secret} is not in the plaintext`);
        }
        for (const [key, value] of Object.entries(expect.kept ?? {})) {
          assert.deepEqual(plaintext[key], value, `${where}: ${key} is sent as it is`);
        }
      }
    }
  } finally {
    await effect.dispose();
    await proxy.close();
    await lower.dispose();
    await client.dispose();
    await Promise.all([home.close(), other.close(), evil.close()]);
  }
  // Every door ran every case that applies to it: none was skipped by accident.
  for (const door of DOORS) {
    const applicable = CASES.filter((c) => !("notApplicable" in expectOf(c, door))).length;
    assert.equal(counted[door], applicable, door);
    assert.ok(applicable >= 16, `${door} runs the whole table`);
  }
});
