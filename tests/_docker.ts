/**
 * The Docker engine the tests and benchmarks drive: DOCKER_HOST, else the private engine that
 * scripts/dockerd.sh starts (with the `circuit-test` image imported from busybox).
 *
 * @module
 */

/** The image scripts/dockerd.sh imports. */
export const TEST_IMAGE = "circuit-test";

/** `unix://<path>` of the engine, starting the private one when DOCKER_HOST is not set. */
export async function dockerHost(): Promise<string> {
  const fromEnv = Deno.env.get("DOCKER_HOST");
  if (fromEnv) return fromEnv;
  const script = new URL("../scripts/dockerd.sh", import.meta.url).pathname;
  const out = await new Deno.Command("bash", { args: [script], stdout: "piped", stderr: "inherit" }).output();
  const last = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
  if (!out.success || !last.startsWith("DOCKER_HOST=unix://")) {
    throw new Error(`scripts/dockerd.sh failed: ${last}`);
  }
  return last.slice("DOCKER_HOST=".length);
}
