/**
 * The router as the router container gets it, for the real proxy under test: the rendered
 * config and every file `routerContainer` puts beside it (the router extension's package
 * and settings), its plain env and the extension's arguments. The only change: the
 * extension's state files live in a temporary directory instead of /dev/shm and the state
 * volume (the settings file is rewritten for that, nothing else).
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import * as path from "node:path";
import type { DeploymentPlan } from "../../core/plan/types";
import { ROUTER_CONFIG_PATH, routerContainer } from "../../core/render/containers";
import type { UpstreamOverrides } from "../../core/render/litellm-config";
import { SETTINGS_FILE_NAME } from "../../core/render/router-extension";
import { type RouterRendering, renderRouter } from "../../core/render/router-config";
import type { LiteLlmProxy } from "./litellm-proxy";

export interface ShippedRouterFiles {
  readonly rendered: RouterRendering;
  /** Files beside the config, paths relative to its directory (the proxy's `files`). */
  readonly files: readonly { readonly path: string; readonly content: string }[];
  /** The container's plain env. */
  readonly env: Readonly<Record<string, string>>;
  /** The extension's arguments to the proxy. */
  readonly args: readonly string[];
  readonly stateDir: string;
  readonly statePath: string;
  readonly spendPath: string;
  cleanup(): void;
}

export function shippedRouterFiles(plan: DeploymentPlan, overrides: UpstreamOverrides): ShippedRouterFiles {
  const rendered = renderRouter(plan, overrides);
  const spec = routerContainer(plan, rendered);
  const stateDir = mkdtempSync(path.join(os.tmpdir(), "hybrid-router-state-"));
  const statePath = path.join(stateDir, "state.db");
  const spendPath = path.join(stateDir, "spend.db");
  const configDir = path.posix.dirname(ROUTER_CONFIG_PATH);
  const files = spec.files
    .filter((f) => f.path !== ROUTER_CONFIG_PATH)
    .map((f) => {
      const rel = path.posix.relative(configDir, f.path);
      if (rel !== SETTINGS_FILE_NAME) return { path: rel, content: f.content };
      const settings = JSON.parse(f.content) as Record<string, unknown>;
      return { path: rel, content: JSON.stringify({ ...settings, state_path: statePath, spend_path: spendPath }, null, 2) };
    });
  return {
    rendered,
    files,
    env: spec.env,
    args: rendered.extension.args,
    stateDir,
    statePath,
    spendPath,
    cleanup: () => rmSync(stateDir, { recursive: true, force: true }),
  };
}

/**
 * /health/liveliness answers as soon as one worker is up; wait until every worker has
 * loaded the extension (each prints one line when it does), so traffic meets them all.
 */
export async function waitForExtension(proxy: LiteLlmProxy, workers: number, timeoutMs = 240_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const loaded = (proxy.output().match(/hybrid_router: loaded/g) ?? []).length;
    if (loaded >= workers) return;
    if (Date.now() > deadline) throw new Error(`only ${loaded} of ${workers} workers loaded the extension within ${timeoutMs} ms\n${proxy.output().slice(-6000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
