/**
 * What the credential tests share: a keyed server under a real `-policy`, `circuit issue` into a
 * file, and `circuit ls` with a credential.
 *
 * @module
 */
import assert from "node:assert/strict";
import { circuit, type RunResult, TestServer } from "./_harness.ts";

/** Asserts exit 0 (stderr shown otherwise) and returns the run. */
export function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what}: exit ${r.code}, stderr ${JSON.stringify(r.stderr)}`);
  return r;
}

/** The fixture's policy: mallory revoked, alice may read and start processes, group:viewers may read. */
export const POLICY = {
  revoked: ["mallory"],
  rules: [
    { who: ["alice"], allow: ["read", "proc"], exec: ["/usr/bin/*", "/bin/*"] },
    { who: ["group:viewers"], allow: ["read"] },
  ],
};

/** A keyed server, its temp dir and two keys: `k1`, the server's, and `k2`, another. */
export interface Fixture {
  dir: string;
  k1: string;
  k2: string;
  server: TestServer;
}

/** A keyed server under {@link POLICY}, with two keys and a credential issuer. */
export async function withKeyedServer(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "circuit-cred-" }));
  let server: TestServer | undefined;
  try {
    const k1 = `${dir}/k1`, k2 = `${dir}/k2`;
    for (const k of [k1, k2]) await Deno.writeTextFile(k, ok(await circuit(["keygen"]), "keygen").stdout);
    await Deno.writeTextFile(`${dir}/policy.json`, JSON.stringify(POLICY));
    server = await TestServer.start(dir, ["-hmac", k1, "-policy", `${dir}/policy.json`]);
    await fn({ dir, k1, k2, server });
  } finally {
    await server?.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

/** `circuit issue -hmac <key> -name <name> <extra>` written to a new file of `dir`; returns its path. */
export async function issue(dir: string, key: string, name: string, extra: string[] = []): Promise<string> {
  const r = ok(await circuit(["issue", "-hmac", key, "-name", name, ...extra]), `issue ${name}`);
  const path = `${dir}/${name}-${crypto.randomUUID().slice(0, 8)}.cred`;
  await Deno.writeTextFile(path, r.stdout);
  return path;
}

/** `circuit ls -d <server> [-cred <cred>] /` with `env`. */
export const ls = (s: TestServer, cred: string, env: Record<string, string> = {}) =>
  circuit(["ls", "-d", s.url, ...(cred ? ["-cred", cred] : []), "/"], { timeoutMs: 10_000, env });
