/**
 * An operator's own PKI instead of the key (SPEC §10.1) on real servers: certificates made by
 * `openssl` (ECDSA P-256 CA and servers, Ed25519 and RSA clients), `-tls-ca/-tls-cert/-tls-key`
 * on `start` and the CLI, `CIRCUIT_TLS_*`, `dial(url, { tlsCa, tlsCert, tlsKey })`; identities
 * from the certificates judged by a real `-policy`; another CA's and expired certificates refused.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dial } from "../mod.ts";
import { loadOperatorPki, verifyOperatorLeaf } from "../wire/crypto/operator_pki.ts";
import { proveCredential, verifyCredentialProof } from "../wire/crypto/credential.ts";
import { assertErr, assertUsage, circuit, eventually, ok, TestServer } from "./_harness.ts";

async function openssl(args: string[]): Promise<void> {
  const r = await new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" }).output();
  if (!r.success) throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
}

/** A PKI's files in `dir`: `<name>.pem` and `<name>.key`. */
interface Pki {
  dir: string;
  /** `ca` of `this` PKI: path of its certificate. */
  ca: string;
  /** Issues a certificate for `subject` with a new key of `keyArgs`; returns [cert, key] paths. */
  issue(name: string, subject: string, keyArgs: string[], days?: number): Promise<[string, string]>;
}

async function makePki(dir: string, caName: string): Promise<Pki> {
  const ca = `${dir}/${caName}.pem`, caKey = `${dir}/${caName}.key`;
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-nodes",
    "-keyout",
    caKey,
    "-out",
    ca,
    "-subj",
    `/CN=${caName}`,
    "-days",
    "2",
  ]);
  const ext = `${dir}/ext.cnf`;
  await Deno.writeTextFile(ext, "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n");
  return {
    dir,
    ca,
    async issue(name, subject, keyArgs, days = 1) {
      const cert = `${dir}/${name}.pem`, key = `${dir}/${name}.key`, csr = `${dir}/${name}.csr`;
      await openssl(["req", "-new", ...keyArgs, "-nodes", "-keyout", key, "-out", csr, "-subj", subject]);
      // -days -1 makes a certificate that expired a day ago.
      await openssl([
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        ca,
        "-CAkey",
        caKey,
        "-CAcreateserial",
        "-out",
        cert,
        "-days",
        String(days),
        "-extfile",
        ext,
      ]);
      return [cert, key];
    },
  };
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
const ED = ["-newkey", "ed25519"];
const RSA = ["-newkey", "rsa:2048"];

const POLICY = {
  rules: [
    { who: ["alice"], allow: ["read", "proc"], exec: ["/usr/bin/*", "/bin/*"] },
    { who: ["group:viewers"], allow: ["read"] },
  ],
};

const tlsArgs = (
  ca: string,
  [cert, key]: [string, string],
) => ["-tls-ca", ca, "-tls-cert", cert, "-tls-key", key];

Deno.test("operator PKI: two servers and clients with openssl certificates join, list, run; policy by CN and OU", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "circuit-pki-" }));
  const servers: TestServer[] = [];
  try {
    const pki = await makePki(dir, "ca");
    const other = await makePki(await Deno.makeTempDir({ dir, prefix: "other-" }), "other-ca");
    const s1 = await pki.issue("s1", "/CN=host1/OU=role:server", EC);
    const s2 = await pki.issue("s2", "/CN=host2/OU=role:server", EC);
    const alice = await pki.issue("alice", "/CN=alice/OU=group:ops", ED);
    const bob = await pki.issue("bob", "/CN=bob/OU=group:viewers", RSA);
    const expired = await pki.issue("old", "/CN=alice", ED, -1);
    const mallory = await other.issue("mallory", "/CN=alice", ED);
    await Deno.writeTextFile(`${dir}/policy.json`, JSON.stringify(POLICY));
    const policy = ["-policy", `${dir}/policy.json`];
    servers.push(await TestServer.start(dir, [...tlsArgs(pki.ca, s1), ...policy]));
    servers.push(await TestServer.start(dir, [...tlsArgs(pki.ca, s2), ...policy, "-j", servers[0].url]));
    const [a, b] = servers;
    const both = [a.serverAnchor, b.serverAnchor].sort().join("\n") + "\n";
    await eventually("both servers listed through A", 15_000, async () => {
      const r = await circuit(["ls", "-d", a.url, ...tlsArgs(pki.ca, alice), "/"]);
      return r.code === 0 && r.stdout === both;
    });
    // alice (Ed25519) starts a process on B through A; bob (RSA, group viewers) may only read.
    const job = `${b.serverAnchor}/job`;
    ok(
      await circuit(["mkproc", "-d", a.url, ...tlsArgs(pki.ca, alice), job], {
        stdin: JSON.stringify({ Path: "/bin/true" }) + "\n",
      }),
      "mkproc alice",
    );
    const env = { CIRCUIT_TLS_CA: pki.ca, CIRCUIT_TLS_CERT: bob[0], CIRCUIT_TLS_KEY: bob[1] };
    assert.equal(ok(await circuit(["ls", "-d", b.url, "/"], { env }), "ls bob").stdout, both);
    assertErr(
      await circuit(["mkproc", "-d", b.url, `${b.serverAnchor}/b`], {
        env,
        stdin: JSON.stringify({ Path: "/bin/true" }) + "\n",
      }),
      `permission denied: bob may not proc ${b.serverAnchor}/b`,
    );
    const run = ["run", "-d", a.url, ...tlsArgs(pki.ca, alice), "-on", `id=${b.serverAnchor.slice(1)}`];
    assert.equal(ok(await circuit([...run, "--", "/bin/echo", "hi"]), "run on B").stdout, "hi\n");
    // The library, with the PEM texts.
    const client = await dial(a.url, {
      tlsCa: await Deno.readTextFile(pki.ca),
      tlsCert: await Deno.readTextFile(alice[0]),
      tlsKey: await Deno.readTextFile(alice[1]),
    });
    try {
      assert.ok((await client.servers()).length === 2);
    } finally {
      await client.close();
    }
    const log = await b.opsLog();
    assert.ok(log.some((l) => l.Op === "make" && l.Path === job && l.Who === "alice"), JSON.stringify(log));
    // Another CA's certificate, though it trusts our CA; an expired one; a dialer trusting another CA.
    const ls = (args: string[]) => circuit(["ls", "-d", a.url, ...args, "/"]);
    assertErr(await ls(tlsArgs(pki.ca, mallory)), "authentication failed: key mismatch");
    assertErr(await ls(tlsArgs(pki.ca, expired)), "authentication failed: credential expired");
    assertErr(await ls(tlsArgs(other.ca, mallory)), "authentication failed: key mismatch");
    // A key holder does not get in: the server's certificate is not of its key's CA.
    await Deno.writeTextFile(`${dir}/k`, ok(await circuit(["keygen"]), "keygen").stdout);
    assertErr(await ls(["-hmac", `${dir}/k`]), "authentication failed: key mismatch");
    // A client certificate cannot serve: a server started with it is refused by its peers.
    const c = await TestServer.start(dir, [...tlsArgs(pki.ca, alice), "-j", a.url]);
    servers.push(c);
    await eventually(
      "alice's server refused",
      15_000,
      async () =>
        (await a.opsLog()).some((l) =>
          l.Op === "reject" && String(l.Reason).includes("not a server certificate")
        ),
    );
  } finally {
    for (const s of servers) await s.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("operator PKI: some of the three files, or with a key, is a one-line usage error", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "circuit-pki-" }));
  try {
    const key = `${dir}/k`;
    await Deno.writeTextFile(key, ok(await circuit(["keygen"]), "keygen").stdout);
    const url = "circuit://127.0.0.1:1/1/Q0de74570a61e9688";
    assertUsage(
      await circuit(["start", "-tls-ca", "a", "-tls-cert", "b"]),
      "-tls-ca, -tls-cert, -tls-key go together: -tls-key missing",
    );
    assertUsage(
      await circuit(["ls", "-d", url, "-tls-key", "c", "/"]),
      "-tls-ca and -tls-cert missing",
    );
    assertUsage(
      await circuit(["ls", "-d", url, "/"], { env: { CIRCUIT_TLS_CA: "a" } }),
      "CIRCUIT_TLS_CA, CIRCUIT_TLS_CERT, CIRCUIT_TLS_KEY go together",
    );
    const three = ["-tls-ca", "a", "-tls-cert", "b", "-tls-key", "c"];
    assertUsage(
      await circuit(["start", "-hmac", key, ...three]),
      "a key and an operator PKI cannot be used together",
    );
    assertUsage(
      await circuit(["ls", "-d", url, "-hmac", key, ...three, "/"]),
      "an operator PKI cannot be used together",
    );
    // The library's options: the same rules.
    await assert.rejects(dial(url, { tlsCa: "a", tlsCert: "b" }), /tlsCa, tlsCert and tlsKey go together/);
    await assert.rejects(
      dial(url, { key: "x", tlsCa: "a", tlsCert: "b", tlsKey: "c" }),
      /a key or credential and an operator PKI cannot be used together/,
    );
    await assert.rejects(dial(url, { tlsCa: "a", tlsCert: "b", tlsKey: "c" }), /tlsCa: no PEM certificate/);
    // A missing file is the reading error, named by flag and path.
    const r = await circuit(["start", "-a", "127.0.0.1:0", "-var", `${dir}/v`, ...three]);
    assertErr(r, "problem reading -tls-ca file (a): no such file or directory", { banner: true });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("operator PKI files: a P-384 CA's RSA and P-384 leaves verify and prove; another CA's is a key mismatch; a key not the certificate's fails at load", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "circuit-pki-" }));
  try {
    const ca = `${dir}/ca384.pem`, caKey = `${dir}/ca384.key`;
    const p384 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"];
    await openssl([
      "req",
      "-x509",
      ...p384,
      "-nodes",
      "-keyout",
      caKey,
      "-out",
      ca,
      "-subj",
      "/CN=p384",
      "-days",
      "2",
    ]);
    /** A leaf of the P-384 CA (signed ecdsa-with-SHA384): its certificate and key texts. */
    const leaf = async (name: string, keyArgs: readonly string[]): Promise<[string, string]> => {
      const cert = `${dir}/${name}.pem`, key = `${dir}/${name}.key`, csr = `${dir}/${name}.csr`;
      await openssl([
        "req",
        "-new",
        ...keyArgs,
        "-nodes",
        "-keyout",
        key,
        "-out",
        csr,
        "-subj",
        `/CN=${name}`,
      ]);
      await openssl([
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        ca,
        "-CAkey",
        caKey,
        "-CAcreateserial",
        "-sha384",
        "-out",
        cert,
        "-days",
        "1",
      ]);
      return [await Deno.readTextFile(cert), await Deno.readTextFile(key)];
    };
    const caText = await Deno.readTextFile(ca);
    const nonce = crypto.getRandomValues(new Uint8Array(32));
    for (const [name, args] of [["rsa", RSA], ["p384", p384]] as const) {
      const pki = await loadOperatorPki(caText, ...await leaf(name, args));
      const info = await verifyOperatorLeaf(pki, pki.credential.certDer);
      assert.equal(info.name, name);
      const sig = await proveCredential(pki.credential, nonce, nonce, "Q1/2");
      assert.ok(await verifyCredentialProof(info, nonce, nonce, "Q1/2", sig), `${name} proof`);
      assert.ok(
        !await verifyCredentialProof(info, nonce, nonce, "Q1/3", sig),
        `${name} proof for another server`,
      );
    }
    const [strangerCert, strangerKey] = await (await makePki(dir, "other")).issue(
      "stranger",
      "/CN=stranger",
      ED,
    )
      .then(async ([c, k]) => [await Deno.readTextFile(c), await Deno.readTextFile(k)]);
    const stranger = await loadOperatorPki(caText, strangerCert, strangerKey);
    const ours = await loadOperatorPki(caText, ...await leaf("ours", ED));
    await assert.rejects(
      verifyOperatorLeaf(ours, stranger.credential.certDer),
      /authentication failed: key mismatch/,
    );
    const [, otherKey] = await leaf("k", ED);
    await assert.rejects(
      loadOperatorPki(caText, strangerCert, otherKey),
      /-tls-key: the private key is not the one of -tls-cert/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
