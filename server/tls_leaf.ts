/**
 * The leaf certificate a keyed server issues itself at start (SPEC §10.1).
 *
 * @module
 */
import { issueLeaf, type Leaf } from "../wire/crypto/ca.ts";
import { serverIdentity } from "../wire/identity.ts";
import { clusterCa } from "../wire/tls/cluster.ts";
import { advertisedHost } from "./address.ts";

/**
 * A leaf for this server, signed by the key's cluster CA: `CN=server:<worker ID>`, role `server`,
 * and as subjectAltName the address its URL advertises (what dialers check) and the one it listens
 * on, when that is not a wildcard.
 */
export async function serverLeaf(key: Uint8Array, workerId: string, listenHost: string): Promise<Leaf> {
  const hosts = new Set([advertisedHost(listenHost)]);
  if (listenHost !== "0.0.0.0" && listenHost !== "::" && listenHost !== "") hosts.add(listenHost);
  return await issueLeaf(await clusterCa(key), {
    role: "server",
    name: serverIdentity(workerId).name,
    hosts: [...hosts],
  });
}
