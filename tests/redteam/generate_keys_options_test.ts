/**
 * `generateKeys()` with a mistyped option (`keysize`, `savetofile`) used to resolve as if it
 * were absent: other keys than asked for, or keys never saved. It rejects with a `TypeError`.
 */
import assert from "node:assert/strict";
import { SecureCompletionClient } from "../../mod.ts";

Deno.test("generateKeys() refuses unknown options", async () => {
  const client = new SecureCompletionClient({ baseUrl: "https://router.example", keySize: 2048 });
  try {
    for (
      const options of [{ keysize: 2048 }, { savetofile: true }, { saveToFile: true, dir: "x" }]
    ) {
      await assert.rejects(
        client.generateKeys(options as never),
        (e: unknown) =>
          e instanceof TypeError && /^Cannot generate keys: unknown option "/.test(e.message),
      );
    }
    await assert.rejects(client.generateKeys(null as never), TypeError);
  } finally {
    await client.dispose();
  }
});
