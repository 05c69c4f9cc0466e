/**
 * The resources a stack would create, as the `plan` report lists them: type, name and the
 * settings that matter for each kind. The list itself comes from running the real program
 * under Pulumi's mocks (cli/mock-run.ts); this module only formats it.
 */
import { textTable } from "../costs/format";

/** One resource the program registers; inputs with secret values already masked. */
export interface ResourceRow {
  readonly type: string;
  readonly name: string;
  readonly inputs: Readonly<Record<string, unknown>>;
}

/** One line of the settings that matter for each kind of resource. */
export function keySettings(r: ResourceRow): string {
  const i = r.inputs;
  const s = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
  switch (r.type) {
    case "docker:index/container:Container": {
      const ports = Array.isArray(i["ports"]) && i["ports"].length > 0 ? s(i["ports"]) : "none published";
      return `name=${s(i["name"])} gpus=${s(i["gpus"] ?? "none")} ports=${ports} envs=${s(i["envs"])}`;
    }
    case "docker:index/remoteImage:RemoteImage":
      return `image=${s(i["name"])}`;
    case "docker:index/network:Network":
      return `name=${s(i["name"])}`;
    case "pulumi:providers:docker":
      return `host=${s(i["host"])}`;
    case "command:remote:Command": {
      // The connection carries the SSH key, so Pulumi keeps all of it secret.
      const create = s(i["create"] ?? "");
      return `${create.length > 100 ? `${create.slice(0, 97)}...` : create}`;
    }
    case "command:local:Command":
      return `local: ${s(i["create"])}`;
    case "random:index/randomPassword:RandomPassword":
      return `length=${s(i["length"])}`;
    default:
      return "";
  }
}

export function resourcesTable(resources: readonly ResourceRow[]): string {
  return `Resources (${resources.length}; secrets shown as [secret])\n` + textTable(["type", "name", "key settings"], resources.map((r) => [r.type, r.name, keySettings(r)]));
}

/** The resource list as a diffable text: one resource per line, with every input (secrets masked), sorted by type and name. */
export function resourceListText(resources: readonly ResourceRow[]): string {
  return [...resources]
    .sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name))
    .map((r) => `${r.type} ${r.name} ${JSON.stringify(r.inputs)}\n`)
    .join("");
}
