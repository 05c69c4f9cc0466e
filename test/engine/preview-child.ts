/**
 * One `pulumi preview` of a stack with the real CLI and providers, as a process of its own, so
 * that preview.test.ts can run it inside a network namespace with only `lo` (netns.ts): the
 * CLI, its provider plugins and the program (the Automation API's inline runtime, a gRPC server
 * the CLI dials on 127.0.0.1) all live in that namespace.
 *
 * Usage: tsx test/engine/preview-child.ts <request.json>; writes the {@link PreviewResult} to
 * the request's `result` path (stdout belongs to the program's own logging).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { type NetworkView, networkView } from "./netns";
import { findToolchain } from "./toolchain";
import { createEngineStack, errorDiagnostics, lastOutput, recorder, resourceSteps } from "./workspace";

export interface PreviewRequest {
  readonly stackFile: string;
  readonly secrets: Record<string, string>;
  /** Where to write the result (JSON). */
  readonly result: string;
}

export interface PreviewResult {
  /** The namespace the preview ran in, as this process saw it. */
  readonly network: NetworkView;
  readonly mode: "project" | "inline";
  /** The preview's exception, if it threw. */
  readonly error: string | undefined;
  readonly steps: { op: string; type: string; urn: string }[];
  readonly errors: string[];
  readonly output: string;
}

async function main(): Promise<void> {
  const requestFile = process.argv[2];
  if (!requestFile) throw new Error("usage: preview-child.ts <request.json>");
  const req = JSON.parse(readFileSync(requestFile, "utf8")) as PreviewRequest;
  const network = networkView();
  let programRuns = 0;
  const es = await createEngineStack(findToolchain(), {
    stackFile: req.stackFile,
    secrets: req.secrets,
    // One preview, one run of the program in this fresh process: nothing to reset.
    resetModules: () => {
      programRuns += 1;
      if (programRuns > 1) throw new Error("preview-child runs the program once per process");
    },
  });
  try {
    let error: string | undefined;
    try {
      await es.stack.preview({ ...recorder(es), diff: false });
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const result: PreviewResult = { network, mode: es.mode, error, steps: resourceSteps(es), errors: errorDiagnostics(es), output: lastOutput(es, 20_000) };
    writeFileSync(req.result, JSON.stringify(result));
  } finally {
    es.cleanup();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
