import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export function sha256File(path: string): string {
  return sha256(readFileSync(path, "utf8"));
}
