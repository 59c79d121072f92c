/**
 * Trust on first use of router keys against the test router: the first key is recorded, a
 * changed one is refused with `RouterKeyChanged` before anything is encrypted to it (the router
 * receives no completion sealed to the new key), the callback can accept it, another process
 * sharing the file remembers, the pin still decides, and a corrupt file is refused, never reset.
 */
import assert from "node:assert/strict";
import { Effect, Exit } from "effect";
import type { ClientOptions } from "../../src/client/options.ts";
import { KeyError, SecurityError } from "../../src/errors.ts";
import { KeyFileSystem } from "../../src/keys/file_system.ts";
import { formatKnownRouters } from "../../src/keys/known_routers_file.ts";
import { importNodeFileSystem } from "../../src/keys/node_file_system.ts";
import type { RsaPublicKey } from "../../src/keys/rsa_key.ts";
import { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import { startTestRouter, type TestRouter } from "../../src/testing/router.ts";
import { makeRouterKeyTrust, type RouterKeyChange } from "../../src/transport/router_key_trust.ts";
import { failureOf } from "../_helpers.ts";
import { completions } from "../_client.ts";

/** Writes the record as another process would: `entries`, mode 0600. */
const writeRecord = (path: string, entries: ReadonlyArray<readonly [string, string]>) =>
  Deno.writeTextFile(path, formatKnownRouters(new Map(entries)), { mode: 0o600 });

const ask = (content: string) => ({ model: "m", messages: [{ role: "user" as const, content }] });

const withDir = async (fn: (dir: string) => Promise<void>): Promise<void> => {
  const dir = await Deno.makeTempDir({ prefix: "nomyo_tofu_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
};

/** Runs `fn` with a client under tofu on `router`, disposed after. */
const withTofu = async (
  router: TestRouter,
  options: ClientOptions,
  fn: (client: SecureChatCompletion) => Promise<void>,
): Promise<void> => {
  const client = new SecureChatCompletion({
    baseUrl: router.url,
    allowHttp: true,
    keySize: 2048,
    maxRetries: 2,
    routerKeyPolicy: "tofu",
    ...options,
  });
  try {
    await fn(client);
  } finally {
    await client.dispose();
  }
};

const recorded = async (path: string): Promise<unknown> =>
  JSON.parse(await Deno.readTextFile(path));
const refusal = (client: SecureChatCompletion, content = "refused?"): Promise<unknown> =>
  client.create(ask(content)).then(() => undefined, (e) => e);
const origin = (router: TestRouter): string => new URL(router.url).origin;

Deno.test("tofu records the first router key in keyDir/known_routers.json, mode 0600", async () => {
  await withDir(async (dir) => {
    const router = await startTestRouter();
    try {
      await withTofu(router, { keyDir: dir }, async (client) => {
        assert.equal(
          (await client.create(ask("first"))).choices[0]?.message.content,
          "Echo: first",
        );
      });
      const path = `${dir}/known_routers.json`;
      assert.deepEqual(await recorded(path), {
        version: 1,
        routers: { [origin(router)]: router.fingerprint },
      });
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
      // The same key again: accepted, file unchanged.
      const before = await Deno.readTextFile(path);
      await withTofu(router, { keyDir: dir }, async (client) => {
        await client.create(ask("second"));
      });
      assert.equal(await Deno.readTextFile(path), before);
    } finally {
      await router.close();
    }
  });
});

Deno.test("tofu refuses a changed router key with RouterKeyChanged, and nothing is sealed to it", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/routers.json`;
    const router = await startTestRouter();
    try {
      await withTofu(router, { knownRoutersPath: path }, (c) => c.create(ask("a")).then(() => {}));
      const first = router.fingerprint;
      await router.rotateKey();
      const sentBefore = completions(router).length;
      await withTofu(router, { knownRoutersPath: path }, async (client) => {
        const error = await refusal(client);
        assert.ok(error instanceof SecurityError);
        assert.equal(error.reason, "RouterKeyChanged");
        assert.match(error.message, new RegExp(origin(router).replaceAll(".", "\\.")));
        assert.match(error.message, /nothing was sent/);
        // Refused again on the next request (a refusal is not cached as a success).
        const again = await refusal(client);
        assert.ok(again instanceof SecurityError && again.reason === "RouterKeyChanged");
      });
      assert.equal(completions(router).length, sentBefore, "no completion POST after the change");
      assert.deepEqual(await recorded(path), { version: 1, routers: { [origin(router)]: first } });
    } finally {
      await router.close();
    }
  });
});

Deno.test("tofu: the refetch after the router's 'cannot decrypt' is checked too; the retry cannot bypass it", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/routers.json`;
    const router = await startTestRouter();
    try {
      await withTofu(router, { knownRoutersPath: path }, async (client) => {
        await client.create(ask("before"));
        await router.rotateKey();
        const sentBefore = completions(router).length;
        const error = await refusal(client, "after rotation");
        assert.ok(error instanceof SecurityError);
        assert.equal(error.reason, "RouterKeyChanged");
        // One POST, sealed to the recorded (old) key, which the router could not open; nothing
        // was sealed to the new key, and no retry went round the check.
        const sent = completions(router).slice(sentBefore);
        assert.equal(sent.length, 1);
        assert.equal(sent[0]!.plaintext, undefined, "the router could not open it");
        const third = await refusal(client, "later");
        assert.ok(third instanceof SecurityError && third.reason === "RouterKeyChanged");
        assert.equal(completions(router).length, sentBefore + 1);
      });
    } finally {
      await router.close();
    }
  });
});

Deno.test("tofu: onRouterKeyChange returning true accepts the new key and records it", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/routers.json`;
    const router = await startTestRouter();
    try {
      await withTofu(router, { knownRoutersPath: path }, (c) => c.create(ask("a")).then(() => {}));
      const first = router.fingerprint;
      await router.rotateKey();
      const calls: RouterKeyChange[] = [];
      await withTofu(router, {
        knownRoutersPath: path,
        onRouterKeyChange: async (change) => {
          calls.push(change);
          await new Promise((r) => setTimeout(r, 1));
          return true;
        },
      }, async (client) => {
        assert.equal((await client.create(ask("b"))).choices[0]?.message.content, "Echo: b");
        await client.create(ask("c"));
      });
      assert.deepEqual(calls, [{
        origin: origin(router),
        previous: first,
        next: router.fingerprint,
      }]);
      assert.deepEqual(await recorded(path), {
        version: 1,
        routers: { [origin(router)]: router.fingerprint },
      });
    } finally {
      await router.close();
    }
  });
});

Deno.test("tofu: onRouterKeyChange returning false, a truthy non-true value or throwing refuses", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/routers.json`;
    const router = await startTestRouter();
    try {
      await withTofu(router, { knownRoutersPath: path }, (c) => c.create(ask("a")).then(() => {}));
      const first = router.fingerprint;
      await router.rotateKey();
      const sentBefore = completions(router).length;
      const secret = "callback-secret-canary";
      const handlers: ReadonlyArray<readonly [string, ClientOptions["onRouterKeyChange"], RegExp]> =
        [
          ["false", () => false, /refused it/],
          ["Promise of false", () => Promise.resolve(false), /refused it/],
          ["a truthy string", () => "yes" as unknown as boolean, /refused it/],
          [
            "a thenable",
            () => ({ then: (ok: (v: boolean) => void) => ok(true) }) as unknown as boolean,
            /refused it/,
          ],
          ["a throw", () => {
            throw new Error(secret);
          }, /threw/],
          ["a rejection", () => Promise.reject(new Error(secret)), /threw/],
        ];
      for (const [name, handler, message] of handlers) {
        await withTofu(
          router,
          { knownRoutersPath: path, onRouterKeyChange: handler },
          async (c) => {
            const error = await refusal(c);
            assert.ok(error instanceof SecurityError, name);
            assert.equal(error.reason, "RouterKeyChanged", name);
            assert.match(error.message, message, name);
            assert.ok(!JSON.stringify([error.message, String(error.cause)]).includes(secret), name);
          },
        );
      }
      assert.equal(completions(router).length, sentBefore);
      assert.deepEqual(await recorded(path), { version: 1, routers: { [origin(router)]: first } });
    } finally {
      await router.close();
    }
  });
});

/** Runs the child with the router and file; its one output line. */
const child = async (router: TestRouter, path: string): Promise<string> => {
  const script = new URL("./_tofu_child.ts", import.meta.url).pathname;
  const out = await new Deno.Command("deno", {
    args: [
      "run",
      "--frozen",
      "--no-check",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-write",
      script,
      router.url,
      path,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  return new TextDecoder().decode(out.stdout).trim();
};

Deno.test("tofu is remembered across processes sharing the file", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/routers.json`;
    const router = await startTestRouter();
    try {
      // Recorded by a child, seen by this process.
      assert.equal(await child(router, path), "ok");
      assert.deepEqual(await recorded(path), {
        version: 1,
        routers: { [origin(router)]: router.fingerprint },
      });
      await router.rotateKey();
      const sentBefore = completions(router).length;
      await withTofu(router, { knownRoutersPath: path }, async (client) => {
        const error = await refusal(client);
        assert.ok(error instanceof SecurityError && error.reason === "RouterKeyChanged");
      });
      // Accepted here, so another process now trusts the new key...
      await withTofu(
        router,
        { knownRoutersPath: path, onRouterKeyChange: () => true },
        (c) => c.create(ask("accepted")).then(() => {}),
      );
      assert.equal(await child(router, path), "ok");
      // ...and refuses the next change.
      await router.rotateKey();
      const sentAfter = completions(router).length;
      assert.equal(await child(router, path), "refused SecurityError RouterKeyChanged");
      assert.equal(completions(router).length, sentAfter);
      assert.ok(sentAfter > sentBefore);
    } finally {
      await router.close();
    }
  });
});

Deno.test("tofu: processes recording different origins at the same instant never lose an entry (the lock)", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/routers.json`;
    const script = new URL("./_tofu_lock_child.ts", import.meta.url).pathname;
    const CHILDREN = 4;
    const ROUNDS = 40;
    // Every child starts at the same instant, once all of them are up.
    const startAt = Date.now() + 3_000;
    const outputs = await Promise.all(
      Array.from({ length: CHILDREN }, (_, id) =>
        new Deno.Command("deno", {
          args: [
            "run",
            "--frozen",
            "--no-check",
            "--allow-read",
            "--allow-write",
            script,
            path,
            String(id + 1),
            String(ROUNDS),
            String(startAt),
          ],
          stdout: "piped",
          stderr: "piped",
        }).output()),
    );
    for (const out of outputs) {
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.equal(new TextDecoder().decode(out.stdout).trim(), "ok");
    }
    const routers = (await recorded(path) as { routers: Record<string, string> }).routers;
    const expected: Record<string, string> = {};
    for (let id = 1; id <= CHILDREN; id++) {
      for (let round = 0; round < ROUNDS; round++) {
        expected[`https://c${id}-r${round}.example`] = id.toString(16).padStart(2, "0").repeat(32);
      }
    }
    const lost = Object.keys(expected).filter((o) => !Object.hasOwn(routers, o));
    assert.deepEqual(lost, [], `${lost.length} of ${CHILDREN * ROUNDS} entries lost`);
    assert.deepEqual(routers, expected);
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name),
      ["routers.json"],
      "no lock or temporary file left",
    );
  });
});

Deno.test("tofu: the pin still wins over the record and the callback", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/routers.json`;
    const router = await startTestRouter();
    try {
      await withTofu(router, { knownRoutersPath: path }, (c) => c.create(ask("a")).then(() => {}));
      const before = await Deno.readTextFile(path);
      await router.rotateKey();
      // The right pin: accepted although the record says otherwise; the file is not touched.
      let asked = 0;
      const onRouterKeyChange = () => (asked++, true);
      await withTofu(router, {
        knownRoutersPath: path,
        serverKeyFingerprint: router.fingerprint,
        onRouterKeyChange,
      }, async (client) => {
        assert.equal(
          (await client.create(ask("pinned"))).choices[0]?.message.content,
          "Echo: pinned",
        );
      });
      // A wrong pin: refused as a mismatch, even though the callback would accept.
      await withTofu(router, {
        knownRoutersPath: path,
        serverKeyFingerprint: "00".repeat(32),
        onRouterKeyChange,
      }, async (client) => {
        const error = await refusal(client);
        assert.ok(error instanceof SecurityError);
        assert.equal(error.reason, "FingerprintMismatch");
      });
      assert.equal(asked, 0);
      assert.equal(await Deno.readTextFile(path), before);
    } finally {
      await router.close();
    }
  });
});

Deno.test("tofu refuses a corrupt or hostile known-routers file, names it, and never overwrites it", async () => {
  await withDir(async (dir) => {
    const router = await startTestRouter();
    try {
      const bad = [
        "not json",
        "",
        JSON.stringify({ version: 1, routers: { [origin(router)]: "00" } }),
        JSON.stringify({ version: 1, routers: {}, trusted: true }),
        `${"[".repeat(100_000)}${"]".repeat(100_000)}`,
        " ".repeat(2 * 1024 * 1024),
      ];
      for (const [i, text] of bad.entries()) {
        const path = `${dir}/bad_${i}.json`;
        await Deno.writeTextFile(path, text, { mode: 0o600 });
        await withTofu(router, { knownRoutersPath: path }, async (client) => {
          const error = await refusal(client);
          assert.ok(error instanceof KeyError, String(i));
          assert.equal(error.reason, "Malformed", String(i));
          assert.ok(error.message.includes(path), String(i));
        });
        assert.equal(await Deno.readTextFile(path), text, "never overwritten");
      }
      assert.equal(completions(router).length, 0);
    } finally {
      await router.close();
    }
  });
});

Deno.test("tofu: concurrent first use from two clients records one entry per router", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/routers.json`;
    const [a, b] = await Promise.all([startTestRouter(), startTestRouter()]);
    try {
      await withTofu(
        a,
        { knownRoutersPath: path },
        (one) =>
          withTofu(
            a,
            { knownRoutersPath: path },
            (two) =>
              withTofu(b, { knownRoutersPath: path }, async (three) => {
                const answers = await Promise.all([
                  ...Array.from({ length: 4 }, (_, i) => one.create(ask(`one ${i}`))),
                  ...Array.from({ length: 4 }, (_, i) => two.create(ask(`two ${i}`))),
                  three.create(ask("three")),
                ]);
                assert.equal(answers.length, 9);
              }),
          ),
      );
      assert.deepEqual(await recorded(path), {
        version: 1,
        routers: { [origin(a)]: a.fingerprint, [origin(b)]: b.fingerprint },
      });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

// The file protocol with a fake file system (a second writer interleaved at a chosen moment).

const key = (fingerprint: string) => ({ fingerprint }) as RsaPublicKey;
const OURS = "aa".repeat(32);
const THEIRS = "bb".repeat(32);
const URL_A = "https://router.example:8443/base";
const ORIGIN_A = "https://router.example:8443";

/** The real file system; `hook` runs before every `lstat` of `path` (the n-th, from 1). */
const interleaving = async (
  path: string,
  hook: (n: number) => Promise<void>,
): Promise<KeyFileSystem> => {
  const real = await importNodeFileSystem();
  let n = 0;
  return {
    ...real,
    lstat: async (p) => {
      if (p === path) await hook(++n);
      return real.lstat(p);
    },
  };
};

const runCheck = (fs: KeyFileSystem, path: string, onChange?: (c: RouterKeyChange) => boolean) =>
  Effect.runPromiseExit(
    makeRouterKeyTrust({ path, onChange }).check(URL_A, key(OURS)).pipe(
      Effect.provideService(KeyFileSystem, fs),
    ),
  );

Deno.test("RouterKeyTrust.check() decides again when another process recorded the origin before our write", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/routers.json`;
    // lstat 1: the first read (no file). Before lstat 2 (the read right before writing),
    // another process records another key for the same origin.
    const fs = await interleaving(path, async (n) => {
      if (n === 2) {
        await writeRecord(path, [[ORIGIN_A, THEIRS]]);
      }
    });
    const asked: RouterKeyChange[] = [];
    const exit = await runCheck(fs, path, (c) => (asked.push(c), false));
    const error = failureOf(exit);
    assert.ok(error instanceof SecurityError && error.reason === "RouterKeyChanged");
    assert.deepEqual(asked, [{ origin: ORIGIN_A, previous: THEIRS, next: OURS }]);
    assert.deepEqual(await recorded(path), { version: 1, routers: { [ORIGIN_A]: THEIRS } });
  });
});

Deno.test("RouterKeyTrust.check() keeps other origins another process recorded meanwhile", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/routers.json`;
    const other = "https://other.example";
    const fs = await interleaving(path, async (n) => {
      if (n === 2) {
        await writeRecord(path, [[other, THEIRS]]);
      }
    });
    const exit = await runCheck(fs, path);
    assert.ok(Exit.isSuccess(exit));
    assert.deepEqual(await recorded(path), {
      version: 1,
      routers: { [ORIGIN_A]: OURS, [other]: THEIRS },
    });
  });
});

Deno.test("RouterKeyTrust.check() decides again when a concurrent writer's file replaced ours", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/routers.json`;
    let written = false;
    const real = await importNodeFileSystem();
    // Right after our rename, another process's rename lands with its own key for the origin.
    const fs: KeyFileSystem = {
      ...real,
      rename: async (from, to) => {
        await real.rename(from, to);
        if (to === path && !written) {
          written = true;
          await writeRecord(path, [[ORIGIN_A, THEIRS]]);
        }
      },
    };
    const asked: RouterKeyChange[] = [];
    const exit = await runCheck(fs, path, (c) => (asked.push(c), false));
    const error = failureOf(exit);
    assert.ok(error instanceof SecurityError && error.reason === "RouterKeyChanged");
    assert.deepEqual(asked, [{ origin: ORIGIN_A, previous: THEIRS, next: OURS }]);
    assert.deepEqual(await recorded(path), { version: 1, routers: { [ORIGIN_A]: THEIRS } });
  });
});

Deno.test("RouterKeyTrust.check() reports a failed write as KeyError Io naming the file", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/routers.json`;
    const real = await importNodeFileSystem();
    const fs: KeyFileSystem = {
      ...real,
      rename: () => Promise.reject(Object.assign(new Error("ENOSPC"), { code: "ENOSPC" })),
    };
    const error = failureOf(await runCheck(fs, path));
    assert.ok(error instanceof KeyError);
    assert.equal(error.reason, "Io");
    assert.match(error.message, /routers\.json: no space left on device/);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), [], "no temporary file left");
  });
});

Deno.test("RouterKeyTrust.check() records under the lock file, and refuses a symbolic link at the lock path", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/routers.json`;
    const real = await importNodeFileSystem();
    const lockOpens: number[] = [];
    const fs: KeyFileSystem = {
      ...real,
      open: (p, flags, mode) => {
        if (p === `${path}.lock`) lockOpens.push(flags);
        return real.open(p, flags, mode);
      },
    };
    assert.ok(Exit.isSuccess(await runCheck(fs, path)));
    const { O_CREAT, O_EXCL } = real.constants;
    assert.ok(lockOpens.length >= 1 && (lockOpens[0]! & (O_CREAT | O_EXCL)) === (O_CREAT | O_EXCL));
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), [
      "routers.json",
    ]);

    const other = `${dir}/other.json`;
    await Deno.writeTextFile(`${dir}/elsewhere`, "keep\n");
    await Deno.symlink(`${dir}/elsewhere`, `${other}.lock`);
    const error = failureOf(await runCheck(fs, other));
    assert.ok(error instanceof KeyError);
    assert.equal(error.reason, "InsecurePermissions");
    assert.ok(error.message.includes(`${other}.lock`));
    assert.equal(await Deno.readTextFile(`${dir}/elsewhere`), "keep\n");
    await assert.rejects(Deno.lstat(other), Deno.errors.NotFound);
  });
});
