/**
 * A problem found in a stack file. Every check in the planning core reports through
 * this one shape so that a user sees all problems at once, each with the key path in
 * the stack file, what is wrong, and how to fix it.
 */
export interface ConfigIssue {
  /** `error` stops the deployment; `warning` is printed and the deployment proceeds. */
  readonly severity: "error" | "warning";
  /** Path in the stack file, e.g. `hybrid-inference:hosts[1].gpu`. */
  readonly path: string;
  readonly message: string;
  readonly fix: string;
  /** The offending line of the stack file with a caret under the spot (YAML syntax errors). */
  readonly excerpt?: string;
}

export const PROJECT = "hybrid-inference";

/** Joins a config key and a zod-style path into `hybrid-inference:hosts[1].gpu`. */
export function keyPath(key: string, path: readonly PropertyKey[] = []): string {
  let out = `${PROJECT}:${key}`;
  for (const part of path) {
    out += typeof part === "number" ? `[${part}]` : `.${String(part)}`;
  }
  return out;
}

export function error(path: string, message: string, fix: string): ConfigIssue {
  return { severity: "error", path, message, fix };
}

export function warning(path: string, message: string, fix: string): ConfigIssue {
  return { severity: "warning", path, message, fix };
}

export function hasErrors(issues: readonly ConfigIssue[]): boolean {
  return issues.some((i) => i.severity === "error");
}

/** Human-readable list, errors first, one problem per block. */
export function formatIssues(issues: readonly ConfigIssue[]): string {
  const sorted = [...issues].sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1));
  return sorted
    .map((i) => `${i.severity === "error" ? "error" : "warning"}: ${i.path}: ${i.message}\n` +
      (i.excerpt ? `${i.excerpt.split("\n").map((l) => `    ${l}`).join("\n")}\n` : "") +
      `    fix: ${i.fix}`)
    .join("\n");
}

/** Thrown where a caller needs an exception (the Pulumi program); carries every issue. */
export class StackConfigError extends Error {
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(`The stack configuration has ${issues.filter((i) => i.severity === "error").length} error(s):\n${formatIssues(issues)}`);
    this.name = "StackConfigError";
  }
}
