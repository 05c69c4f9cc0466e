/**
 * Keys of the engine tunnel (WireGuard). Each host's private key is 32 random bytes made by the
 * deployment (`@pulumi/random`'s RandomBytes: a Pulumi secret, encrypted in state), clamped as
 * Curve25519 requires; its public key is derived here, so the peers' configurations need
 * nothing but public values besides each host's own key, which reaches only that host (on its
 * step's stdin) and its 0600 configuration file.
 *
 * The derivation is X25519 (RFC 7748) with node:crypto: the public key is the scalar
 * multiplication of the base point by the clamped private key, which is what `wg pubkey` prints
 * (WireGuard's keys are X25519 keys, base64: wg(8)).
 *
 * Pure: node:crypto only.
 */
import { createHash, createPrivateKey, createPublicKey } from "node:crypto";
import { TUNNEL_PEER_KEYS_ENV, TUNNEL_PRIVATE_KEY_ENV, type BootstrapStep } from "./host-bootstrap";
import { renderSecretStepCommand, secretStepStdin } from "./kubernetes/k3s-bootstrap";

/** DER prefix of a PKCS #8 X25519 private key (RFC 8410, section 10.3): the 32 key bytes follow. */
const PKCS8_X25519_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

export interface WireguardKeyPair {
  /** base64, as wg(8) reads it; a secret. */
  readonly privateKey: string;
  readonly publicKey: string;
}

/** Clamps 32 random bytes into a Curve25519 private key (RFC 7748, section 5), as `wg genkey` does. */
export function clampPrivateKey(raw: Buffer): Buffer {
  if (raw.length !== 32) throw new Error(`a WireGuard private key is 32 bytes, got ${raw.length}`);
  const k = Buffer.from(raw);
  k[0] = k[0]! & 248;
  k[31] = (k[31]! & 127) | 64;
  return k;
}

/** The public key of a private key (both base64), as `wg pubkey` computes it. */
export function wireguardPublicKey(privateKeyBase64: string): string {
  const raw = Buffer.from(privateKeyBase64, "base64");
  if (raw.length !== 32) throw new Error("a WireGuard private key is 32 bytes, base64");
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, raw]), format: "der", type: "pkcs8" });
  const spki = createPublicKey(key).export({ format: "der", type: "spki" });
  return spki.subarray(spki.length - 32).toString("base64");
}

/** A key pair from 32 random bytes (base64, e.g. RandomBytes' `base64`). */
export function wireguardKeyPair(randomBase64: string): WireguardKeyPair {
  const privateKey = clampPrivateKey(Buffer.from(randomBase64, "base64")).toString("base64");
  return { privateKey, publicKey: wireguardPublicKey(privateKey) };
}

/** `host=key,…` for the tunnel step's peers, in the step's peer order. */
export function peerKeysValue(step: BootstrapStep, publicKeys: Readonly<Record<string, string>>): string {
  const peers = (step.env["HI_WG_PEERS"] ?? "").split(",").filter((p) => p !== "").map((p) => p.split("=")[0]!);
  return peers.map((host) => {
    const key = publicKeys[host];
    if (key === undefined) throw new Error(`no tunnel key for peer ${host}`);
    return `${host}=${key}`;
  }).join(",");
}

/**
 * How the GpuHost component runs the tunnel step: the peers' public keys join its plain
 * variables; its own private key is the first line of stdin (never on a command line); it
 * re-runs when a key changes (their public halves are in the trigger).
 */
export function tunnelStepRun(step: BootstrapStep, ownPrivateKey: string, publicKeys: Readonly<Record<string, string>>): {
  readonly create: string;
  readonly stdin: string;
  readonly keysHash: string;
} {
  const peerKeys = peerKeysValue(step, publicKeys);
  const withKeys: BootstrapStep = { ...step, env: { ...step.env, [TUNNEL_PEER_KEYS_ENV]: peerKeys } };
  const keysHash = createHash("sha256").update(JSON.stringify([wireguardPublicKey(ownPrivateKey), peerKeys])).digest("hex");
  return { create: renderSecretStepCommand(withKeys, [TUNNEL_PRIVATE_KEY_ENV]), stdin: secretStepStdin([ownPrivateKey], step.script), keysHash };
}
