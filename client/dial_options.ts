/**
 * The options of `dial` and `dialDiscover`: a cluster key or a credential (SPEC §10.1, §10.5),
 * and turning them into what the wire's dialer takes.
 *
 * @module
 */
import { parseKeyText } from "../wire/crypto/keys.ts";
import { type Credential, parseCredential } from "../wire/crypto/credential.ts";
import { CircuitError } from "../wire/errors.ts";
import { loadOperatorPki } from "../wire/crypto/operator_pki.ts";

/**
 * A cluster key: raw bytes, or the base64 text of a key file (`circuit keygen`).
 *
 * @example
 * ```ts ignore
 * const key: Key = await Deno.readTextFile("/etc/circuit.key");
 * const client = await dial(url, { key });
 * ```
 */
export type Key = Uint8Array | string;

/**
 * Options of `dial` and `dialDiscover`.
 *
 * @example
 * ```ts ignore
 * const opts: DialOptions = { key: Deno.env.get("CIRCUIT_KEY") };
 * const client = await dial(url, opts);
 * ```
 */
export interface DialOptions {
  /** The cluster key, when the cluster uses one. */
  key?: Key;
  /**
   * A credential from `circuit issue` (its PEM text), instead of the key (SPEC §10.5): the
   * client is then known by the credential's name and groups. Not with `key`; not for discovery.
   */
  credential?: string;
  /**
   * An operator's PKI instead of the key (SPEC §10.1), for clusters started with `-tls-ca`: the
   * CA certificate, this client's certificate issued by it, and that certificate's PKCS#8
   * private key, each as PEM text. The client is known by the certificate's CN and its
   * `OU=group:<g>` groups. All three or none; not with `key` or `credential`; not for discovery.
   */
  tlsCa?: string;
  /** This client's certificate (PEM), issued by `tlsCa`. */
  tlsCert?: string;
  /** The private key (PKCS#8 PEM) of `tlsCert`. */
  tlsKey?: string;
}

/** The key as bytes: a key file's text is decoded. */
export function keyBytes(key: Key | undefined): Uint8Array | undefined {
  if (key === undefined) return undefined;
  return typeof key === "string" ? parseKeyText(key, "(key)") : key;
}

/** How `dial` authenticates: the key, or the parsed credential; both at once is an error. */
export async function authOf(opts: DialOptions): Promise<{ key?: Uint8Array; credential?: Credential }> {
  const tls = [opts.tlsCa, opts.tlsCert, opts.tlsKey];
  if (tls.some((t) => t !== undefined)) {
    if (tls.some((t) => t === undefined)) throw new CircuitError("tlsCa, tlsCert and tlsKey go together");
    if (opts.key !== undefined || opts.credential !== undefined) {
      throw new CircuitError("a key or credential and an operator PKI cannot be used together");
    }
    try {
      const names = { ca: "tlsCa", cert: "tlsCert", key: "tlsKey" };
      return { credential: (await loadOperatorPki(tls[0]!, tls[1]!, tls[2]!, names)).credential };
    } catch (err) {
      throw new CircuitError((err as Error).message);
    }
  }
  if (opts.credential === undefined) return { key: keyBytes(opts.key) };
  if (opts.key !== undefined) throw new CircuitError("a key and a credential cannot be used together");
  try {
    return { credential: await parseCredential(opts.credential) };
  } catch (err) {
    throw new CircuitError(`credential: ${(err as Error).message}`);
  }
}
