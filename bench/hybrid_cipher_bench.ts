/**
 * Per-request encryption cost on the client against its floor, per payload size (plaintext of
 * 1 KiB, 64 KiB, 1 MiB in each direction), 4096-bit RSA keys as the protocol has them.
 *
 * Groups, for each size:
 * - `seal`: plaintext bytes → request package bytes (`sealToBody`), against the
 *   floor of one AES-256-GCM encrypt and one RSA-OAEP-4096 wrap;
 * - `open`: response body bytes → `ChatCompletion` (`parsePackage`, `openWith`,
 *   `toChatCompletion`), against one RSA-OAEP-4096 unwrap and one AES-256-GCM decrypt;
 * - `request`: both, against both floors.
 *
 * ```sh
 * deno bench --allow-read --allow-net=127.0.0.1 --allow-env bench/hybrid_cipher_bench.ts
 * ```
 *
 * @module
 */
import { makeKeys, SIZES } from "./_fixtures.ts";
import { makeCipherCase } from "./_ops.ts";

const keys = await makeKeys(4096);

for (const size of SIZES) {
  const c = await makeCipherCase(size, keys);
  // RSA-4096 private operations take milliseconds: a bounded number of iterations is plenty.
  const n = size.bytes >= 1024 * 1024 ? 60 : 100;
  const common = { n, warmup: 10 } as const;
  const seal = `seal ${size.label}`;
  Deno.bench({
    ...common,
    group: seal,
    name: `floor: AES-GCM encrypt ‖ RSA-OAEP-4096 wrap (${size.label})`,
    baseline: true,
    fn: c.floorSeal,
  });
  Deno.bench({ ...common, group: seal, name: `sealToBody (${size.label})`, fn: c.seal });

  const open = `open ${size.label}`;
  Deno.bench({
    ...common,
    group: open,
    name: `floor: RSA-OAEP-4096 unwrap → AES-GCM decrypt (${size.label})`,
    baseline: true,
    fn: c.floorOpen,
  });
  Deno.bench({
    ...common,
    group: open,
    name: `parsePackage + openWith → toChatCompletion (${size.label})`,
    fn: c.open,
  });

  const both = `request ${size.label}`;
  Deno.bench({
    ...common,
    group: both,
    name: `floor: both (${size.label})`,
    baseline: true,
    fn: c.floorBoth,
  });
  Deno.bench({ ...common, group: both, name: `client: seal + open (${size.label})`, fn: c.both });
}
