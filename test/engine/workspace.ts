/**
 * A stack of this project in a temp work dir, driven by the real Pulumi CLI through the
 * Automation API: file backend (`pulumi login file://<tmp>`), passphrase secrets provider,
 * the stack file copied (never the one in stacks/), each `secure:` placeholder replaced with
 * `pulumi config set --secret` of a test value.
 *
 * The work dir holds a copy of Pulumi.yaml and the stack file, and symlinks to the program's
 * sources (index.ts, core, components, templates) and node_modules, so the program is the
 * repository's own.
 */
import {
  type EngineEvent,
  type InlineProgramArgs,
  LocalWorkspace,
  type LocalWorkspaceOptions,
  PulumiCommand,
  type Stack,
} from "@pulumi/pulumi/automation";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { PROJECT, REPO, type Toolchain, engineEnv, programMode, runCli } from "./toolchain";

/** What the program needs from the repository, linked into the work dir. */
const LINKED = ["index.ts", "package.json", "tsconfig.json", "node_modules", "core", "components", "templates"];

export interface StackFile {
  /** Stack name: `Pulumi.<name>.yaml`. */
  readonly name: string;
  readonly file: string;
  /** The file's `config:` map (namespaced keys). */
  readonly config: Record<string, unknown>;
  /** Config keys (without the project prefix) whose value is a `secure:` entry. */
  readonly secretKeys: string[];
  /** `hybrid-inference:target`, default docker. */
  readonly target: string;
}

export function readStackFile(file: string): StackFile {
  const name = /^Pulumi\.(.+)\.ya?ml$/.exec(path.basename(file))?.[1];
  if (!name) throw new Error(`${file} is not named Pulumi.<stack>.yaml`);
  const doc = parseYaml(readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
  const config = doc?.config ?? {};
  const secretKeys = Object.entries(config)
    .filter(([, v]) => typeof v === "object" && v !== null && "secure" in v)
    .map(([k]) => k.replace(`${PROJECT}:`, ""));
  const target = config[`${PROJECT}:target`];
  return { name, file, config, secretKeys, target: typeof target === "string" ? target : "docker" };
}

export interface EngineStack {
  readonly stack: Stack;
  readonly mode: "project" | "inline";
  readonly workDir: string;
  /** Temp directory holding everything (work dir, PULUMI_HOME, state, key dir). */
  readonly dir: string;
  readonly env: Record<string, string>;
  /** Every engine event of the last operation run through {@link EngineStack.events}. */
  readonly events: EngineEvent[];
  /** Output of the last operations, for failure messages. */
  readonly output: string[];
  cleanup(): void;
}

export interface EngineStackOptions {
  /** The stack file to copy into the work dir (it keeps its name, so the stack keeps its name). */
  stackFile: string;
  /** Value for each secret key; keys without a value here get a dummy `test-<key>`. */
  secrets?: Record<string, string>;
  /**
   * Inline mode runs the program in this process, once per operation: this must make the next
   * `import` of index.ts evaluate it afresh, as a new language host would (under vitest:
   * `() => vi.resetModules()`). Without it a second operation would see a program that
   * registers nothing, and plan to delete every resource.
   */
  resetModules: () => void;
}

/**
 * Creates the stack with the real CLI. In "inline" mode (no pulumi-language-nodejs built) the
 * program runs in this process: each run re-imports index.ts after `opts.resetModules()`, as a
 * fresh language host would, while @pulumi/pulumi (an external module) stays one instance
 * shared with the Automation API's runtime server.
 */
export async function createEngineStack(tc: Toolchain, opts: EngineStackOptions): Promise<EngineStack> {
  const dir = mkdtempSync(path.join(tmpdir(), "hi-engine-"));
  const workDir = path.join(dir, "work");
  const home = path.join(dir, "pulumi-home");
  const state = path.join(dir, "state");
  const keyDir = path.join(dir, "keys");
  for (const d of [workDir, home, state, keyDir, path.join(workDir, "stacks")]) mkdirSync(d, { recursive: true });
  copyFileSync(path.join(REPO, "Pulumi.yaml"), path.join(workDir, "Pulumi.yaml"));
  for (const name of LINKED) symlinkSync(path.join(REPO, name), path.join(workDir, name));
  const stackFile = readStackFile(opts.stackFile);
  copyFileSync(opts.stackFile, path.join(workDir, "stacks", path.basename(opts.stackFile)));

  const env = engineEnv(tc, { home, state, keyDir });
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    await runCli(tc, ["login", `file://${state}`], env, workDir);
    const pulumiCommand = await PulumiCommand.get({ root: tc.root });
    const mode = programMode(tc);
    const wsOpts: LocalWorkspaceOptions = { workDir, pulumiHome: home, pulumiCommand, envVars: env, secretsProvider: "passphrase" };
    let stack: Stack;
    if (mode === "inline") {
      const index = path.join(REPO, "index.ts");
      const args: InlineProgramArgs = {
        stackName: stackFile.name,
        projectName: PROJECT,
        program: async () => {
          // The program runs in this process: its SSH key file goes to this stack's temp dir too.
          process.env["HYBRID_INFERENCE_KEY_DIR"] = keyDir;
          opts.resetModules();
          const mod = (await import(index)) as Record<string, unknown>;
          const outputs: Record<string, unknown> = {};
          for (const [k, v] of Object.entries(mod)) if (k !== "default" && v !== undefined) outputs[k] = v;
          return outputs;
        },
      };
      stack = await LocalWorkspace.createStack(args, wsOpts);
    } else {
      stack = await LocalWorkspace.createStack({ stackName: stackFile.name, workDir }, wsOpts);
    }
    for (const key of stackFile.secretKeys) {
      const value = opts.secrets?.[key] ?? `test-${key}`;
      await stack.setConfig(`${PROJECT}:${key}`, { value, secret: true });
    }
    return { stack, mode, workDir, dir, env, events: [], output: [], cleanup };
  } catch (e) {
    cleanup();
    throw e;
  }
}

/** Callbacks for an Automation API operation that record its events and output on `es`. */
export function recorder(es: EngineStack): { onEvent: (e: EngineEvent) => void; onOutput: (s: string) => void } {
  es.events.length = 0;
  es.output.length = 0;
  return {
    onEvent: (e) => {
      es.events.push(e);
    },
    onOutput: (s) => {
      es.output.push(s);
    },
  };
}

/** Types of the resources the last operation touched, with the step op, e.g. "create command:remote:Command". */
export function resourceSteps(es: EngineStack): { op: string; type: string; urn: string }[] {
  return es.events.flatMap((e) => {
    const m = e.resourcePreEvent?.metadata;
    return m ? [{ op: m.op, type: m.type, urn: m.urn }] : [];
  });
}

/** Error diagnostics of the last operation. */
export function errorDiagnostics(es: EngineStack): string[] {
  return es.events.flatMap((e) => {
    const d = e.diagnosticEvent;
    return d && d.severity === "error" ? [`${d.urn ?? ""}: ${d.message.trim()}`] : [];
  });
}

/** The last operation's output (for failure messages), at most `max` characters from its end. */
export function lastOutput(es: EngineStack, max = 6000): string {
  const all = es.output.join("");
  return all.length > max ? `…${all.slice(-max)}` : all;
}
