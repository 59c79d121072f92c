/**
 * Helpers of the Effect AI suites: the language model over the real client, against a fresh
 * test router.
 */
import type * as LanguageModel from "@effect/ai/LanguageModel";
import { Layer } from "effect";
import { type ClientOptions, nomyoLayerFetch } from "../../mod.ts";
import { layer, type LayerOptions } from "../../src/effect_ai/mod.ts";
import {
  type RecordedRequest,
  startTestRouter,
  type TestRouter,
  type TestRouterOptions,
} from "../../src/testing/mod.ts";

/** What a test gets: the router and the language model layer on the real client. */
export interface ModelFixture {
  readonly router: TestRouter;
  readonly live: Layer.Layer<LanguageModel.LanguageModel>;
}

/** Runs `fn` with a fresh router and `layer({ model: "echo", ... })` on `nomyoLayerFetch`. */
export const withModel = async (
  fn: (fixture: ModelFixture) => Promise<void>,
  options: {
    readonly router?: TestRouterOptions;
    readonly client?: ClientOptions;
    readonly layer?: Partial<LayerOptions>;
  } = {},
): Promise<void> => {
  const router = await startTestRouter(options.router);
  try {
    const live = layer({ model: "echo", ...options.layer }).pipe(
      Layer.provide(
        nomyoLayerFetch({
          baseUrl: router.url,
          allowHttp: true,
          keySize: 2048,
          maxRetries: 0,
          ...options.client,
        }),
      ),
      Layer.orDie,
    );
    await fn({ router, live });
  } finally {
    await router.close();
  }
};

/** The completion requests the router received. */
export const completions = (router: TestRouter): ReadonlyArray<RecordedRequest> =>
  router.requests.filter((r) => r.path === "/v1/chat/secure_completion");

/** The decrypted plaintext of the only completion request, as JSON. */
export const onlyPlaintext = (router: TestRouter): Record<string, unknown> => {
  const sent = completions(router);
  if (sent.length !== 1) throw new Error(`expected one completion request, got ${sent.length}`);
  return sent[0]!.plaintext as Record<string, unknown>;
};

/**
 * Checks that a request crossed the wire sealed: its body is a package (no `messages`), and
 * `text` is in neither its body nor its headers.
 */
export const assertSealed = (request: RecordedRequest, text: string): void => {
  const wire = new TextDecoder().decode(request.body);
  const body = JSON.parse(wire) as Record<string, unknown>;
  if (typeof body.encrypted_payload !== "object" || "messages" in body) {
    throw new Error("the request body is not a sealed package");
  }
  if (wire.includes(text) || Object.values(request.headers).some((v) => v.includes(text))) {
    throw new Error("the prompt crossed the wire in clear");
  }
};
