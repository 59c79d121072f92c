/**
 * A full loopback round trip per payload size: `SecureChatCompletion.create` against the test
 * router (RSA-4096 on both ends, the router in this process), against the baseline of the same
 * echo-model JSON over plain `node:http` and `fetch`, unencrypted.
 *
 * Both ends share the machine, so the encrypted round trip carries the router's work too: one
 * RSA-OAEP-4096 unwrap and one wrap on each side.
 *
 * ```sh
 * deno bench --allow-read --allow-net=127.0.0.1 --allow-env bench/round_trip_bench.ts
 * ```
 *
 * @module
 */
import { requestOfSize, SIZES } from "./_fixtures.ts";
import { plainCreate, startPlainServer } from "./_plain_server.ts";
import { startEncrypted, waitForIdle } from "./_round_trip.ts";

const plain = await startPlainServer();
const encrypted = await startEncrypted(4096, { keyRotationInterval: 0 });
const warm = requestOfSize(1024).request;
await encrypted.client.create(warm); // waits for the client's first key pair
await waitForIdle(20_000); // its next pair is made in the background: let it finish

for (const size of SIZES) {
  const { request } = requestOfSize(size.bytes);
  const group = `round trip ${size.label}`;
  const n = size.bytes >= 1024 * 1024 ? 30 : 60;
  Deno.bench({
    group,
    name: `plain JSON, no encryption (${size.label})`,
    baseline: true,
    n,
    warmup: 5,
    fn: async () => {
      await plainCreate(plain.url, request);
    },
  });
  Deno.bench({
    group,
    name: `SecureChatCompletion.create → test router (${size.label})`,
    n,
    warmup: 5,
    fn: async () => {
      await encrypted.client.create(request);
    },
  });
}

Deno.bench({
  group: "teardown",
  name: "router key fetched once; servers closed",
  n: 1,
  warmup: 0,
  fn: async () => {
    if (encrypted.router.publicKeyFetches !== 1) {
      throw new Error(`the router key was fetched ${encrypted.router.publicKeyFetches} times`);
    }
    await encrypted.close();
    await plain.close();
  },
});
