/**
 * The one fixture of the suites that drive a `SecureChatCompletion`: a fresh test router and a
 * client on it (2048-bit keys for speed, no client retries unless asked), both closed after.
 */
import type { ClientOptions } from "../src/client/options.ts";
import { SecureChatCompletion } from "../src/promise/secure_chat_completion.ts";
import { startTestRouter, type TestRouter, type TestRouterOptions } from "../src/testing/router.ts";

/** Runs `body` with a fresh router and client, then closes both. */
export const withClient = async (
  body: (client: SecureChatCompletion, router: TestRouter) => Promise<void>,
  options: ClientOptions = {},
  routerOptions: TestRouterOptions = {},
): Promise<void> => {
  const router = await startTestRouter(routerOptions);
  const client = new SecureChatCompletion({
    baseUrl: router.url,
    allowHttp: true,
    keySize: 2048,
    maxRetries: 0,
    ...options,
  });
  try {
    await body(client, router);
  } finally {
    await client.dispose();
    await router.close();
  }
};

/** The completion requests the router received. */
export const completions = (router: TestRouter): TestRouter["requests"] =>
  router.requests.filter((r) => r.path === "/v1/chat/secure_completion");
