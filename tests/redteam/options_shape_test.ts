/**
 * Options a careless caller builds in ways the schema never sees: inherited keys (from
 * `Object.create(defaults)` or a class getter), a `Map`, and a base URL with an empty `?` or
 * `#` (which would turn the endpoint paths into a query or a fragment). Each is refused, never
 * silently turned into traffic to the default router or to another path.
 */
import assert from "node:assert/strict";
import { SecureChatCompletion, SecureCompletionClient, SecurityError } from "../../mod.ts";

class Settings {
  get baseUrl(): string {
    return "https://router.example";
  }
}

const refusedAsTypeError: ReadonlyArray<[string, () => unknown]> = [
  ["Object.create({ baseUrl })", () => Object.create({ baseUrl: "https://router.example" })],
  ["a class getter", () => new Settings()],
  ["a Map", () => new Map([["baseUrl", "https://router.example"]])],
];

for (const [name, make] of refusedAsTypeError) {
  Deno.test(`new SecureChatCompletion() refuses options from ${name}`, () => {
    for (const Client of [SecureChatCompletion, SecureCompletionClient]) {
      assert.throws(() => new Client(make() as never), (e: unknown) => {
        assert.ok(e instanceof TypeError, String(e));
        assert.match(e.message, /^Cannot create client: .*(baseUrl|Map)/);
        return true;
      });
    }
  });
}

for (
  const url of ["https://router.example#", "https://router.example/?", "https://r.example/v?#"]
) {
  Deno.test(`new SecureChatCompletion() refuses the base URL ${url}`, () => {
    assert.throws(() => new SecureChatCompletion({ baseUrl: url }), (e: unknown) => {
      assert.ok(e instanceof SecurityError && e.reason === "InsecureTransport", String(e));
      assert.match(e.message, /query or fragment/);
      return true;
    });
  });
}
