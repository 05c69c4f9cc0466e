/**
 * The Caddyfile of the TLS edge (https://caddyserver.com/docs/caddyfile). A site address
 * that is a domain makes Caddy obtain and renew its certificate and redirect HTTP to
 * HTTPS by itself (Automatic HTTPS); with a provided certificate it uses those files.
 */
import type { TlsPlan } from "../plan/types";

export const EDGE_CERT_PATH = "/etc/caddy/certs/fullchain.pem";
export const EDGE_KEY_PATH = "/etc/caddy/certs/privkey.pem";
/** Loopback-only health endpoint for the container's health check. */
export const EDGE_HEALTH_PORT = 8081;

export function renderCaddyfile(tls: TlsPlan, upstream: string): string {
  const global = [
    "{",
    // No admin API: the config never changes at run time, and it would be one more listener.
    "\tadmin off",
    ...(tls.email ? [`\temail ${tls.email}`] : []),
    // HTTP/1.1 and HTTP/2 only: HTTP/3 would need UDP 443 through the firewall too.
    "\tservers {",
    "\t\tprotocols h1 h2",
    "\t}",
    "}",
  ];
  const site = [
    `${tls.domain} {`,
    ...(tls.certificate ? [`\ttls ${EDGE_CERT_PATH} ${EDGE_KEY_PATH}`] : []),
    `\treverse_proxy ${upstream} {`,
    // Stream tokens as they come (server-sent events): no response buffering.
    "\t\tflush_interval -1",
    "\t}",
    "}",
  ];
  const health = [`http://127.0.0.1:${EDGE_HEALTH_PORT} {`, "\tbind 127.0.0.1", "\trespond /healthz 200", "}"];
  return [`# Rendered by hybrid-inference. Do not edit: change router.tls in the stack file.`, ...global, "", ...site, "", ...health, ""].join("\n");
}
