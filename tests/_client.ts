/**
 * The one fixture of the suites that drive a client: a fresh test router and a
 * `SecureChatCompletion` (or a `SecureCompletionClient`) on it (2048-bit keys for speed, no
 * client retries unless asked), both closed after.
 */
import type { ClientOptions } from "../src/client/options.ts";
import { SecureChatCompletion } from "../src/promise/secure_chat_completion.ts";
import { SecureCompletionClient } from "../src/promise/secure_completion_client.ts";
import { startTestRouter, type TestRouter, type TestRouterOptions } from "../src/testing/router.ts";

/** The options every fixture client starts from. */
const fixtureOptions = (router: TestRouter, options: ClientOptions): ClientOptions => ({
  baseUrl: router.url,
  allowHttp: true,
  keySize: 2048,
  maxRetries: 0,
  ...options,
});

/** Runs `body` with a fresh router and a client made by `make`, then closes both. */
const withFixture = async <C extends { dispose(): Promise<void> }>(
  make: (options: ClientOptions) => C,
  body: (client: C, router: TestRouter) => Promise<void>,
  options: ClientOptions,
  routerOptions: TestRouterOptions,
): Promise<void> => {
  const router = await startTestRouter(routerOptions);
  const client = make(fixtureOptions(router, options));
  try {
    await body(client, router);
  } finally {
    await client.dispose();
    await router.close();
  }
};

/** Runs `body` with a fresh router and `SecureChatCompletion`, then closes both. */
export const withClient = (
  body: (client: SecureChatCompletion, router: TestRouter) => Promise<void>,
  options: ClientOptions = {},
  routerOptions: TestRouterOptions = {},
): Promise<void> => withFixture((o) => new SecureChatCompletion(o), body, options, routerOptions);

/** Runs `body` with a fresh router and `SecureCompletionClient`, then closes both. */
export const withCompletionClient = (
  body: (client: SecureCompletionClient, router: TestRouter) => Promise<void>,
  options: ClientOptions = {},
  routerOptions: TestRouterOptions = {},
): Promise<void> => withFixture((o) => new SecureCompletionClient(o), body, options, routerOptions);

/** The completion requests the router received. */
export const completions = (router: TestRouter): TestRouter["requests"] =>
  router.requests.filter((r) => r.path === "/v1/chat/secure_completion");
