/**
 * Child process of the known-routers lock test: records `rounds` router origins of its own
 * (`https://c<id>-r<round>.example`) in the known-routers file at `path`, starting at the
 * instant `startAt` (ms since the epoch) so the children race; prints `ok`.
 */
import { Effect } from "effect";
import type { RsaPublicKey } from "../../src/keys/rsa_key.ts";
import { makeRouterKeyTrust } from "../../src/transport/router_key_trust.ts";

const [path, id, rounds, startAt] = Deno.args;
const trust = makeRouterKeyTrust({ path: path! });
const fingerprint = Number(id).toString(16).padStart(2, "0").repeat(32);
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
for (let round = 0; round < Number(rounds); round++) {
  await Effect.runPromise(
    trust.check(`https://c${id}-r${round}.example/v1`, { fingerprint } as RsaPublicKey),
  );
}
console.log("ok");
