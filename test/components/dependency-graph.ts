/**
 * The order Pulumi runs a program's resources in, read from what the mock runner recorded
 * (cli/mock-run.ts: each resource's parent and explicit `dependsOn`).
 *
 * Pulumi starts a resource's create, update or replacement only once everything it depends on
 * is done: its explicit `dependsOn` (a component stands for every resource under it) and,
 * because a child is registered only after its parent, whatever the parent and its ancestors
 * wait for (@pulumi/pulumi's resource registration awaits the parent's URN, which resolves only
 * after the parent's own dependencies). `waitsFor` is the transitive closure of that relation.
 * Dependencies through Outputs (an input read from another resource) are not recorded, so the
 * graph under-approximates: a "waits for" found here holds for the real engine too.
 */
import type { RecordedResource } from "../../cli/mock-run";

export class DependencyGraph {
  private readonly byKey = new Map<string, RecordedResource>();
  private readonly children = new Map<string, string[]>();
  private readonly memo = new Map<string, ReadonlySet<string>>();

  constructor(readonly resources: readonly RecordedResource[]) {
    for (const r of resources) this.byKey.set(key(r), r);
    for (const r of resources) {
      if (r.parent) this.children.set(r.parent, [...(this.children.get(r.parent) ?? []), key(r)]);
    }
  }

  /** `type::name` of the resource called `name` (or given as `type::name`, when names repeat across types). */
  keyOf(name: string): string {
    if (name.includes("::")) {
      if (!this.byKey.has(name)) throw new Error(`no resource ${name}`);
      return name;
    }
    const found = this.resources.filter((r) => r.name === name);
    if (found.length !== 1) throw new Error(`${found.length} resources are named ${name}: pass type::name`);
    return key(found[0]!);
  }

  /** The resource and everything under it. */
  private subtree(k: string): string[] {
    return [k, ...(this.children.get(k) ?? []).flatMap((c) => this.subtree(c))];
  }

  private ancestors(k: string): string[] {
    const out: string[] = [];
    for (let p = this.byKey.get(k)?.parent; p !== undefined; p = this.byKey.get(p)?.parent) out.push(p);
    return out;
  }

  /** Keys of every resource that is done before `name`'s operation starts. */
  waitsFor(name: string): ReadonlySet<string> {
    return this.closure(this.keyOf(name));
  }

  /** True when `name`'s operation starts only after `other`'s is done. */
  waitsOn(name: string, other: string): boolean {
    return this.waitsFor(name).has(this.keyOf(other));
  }

  private closure(k: string): ReadonlySet<string> {
    const cached = this.memo.get(k);
    if (cached) return cached;
    this.memo.set(k, new Set()); // a cycle would otherwise recurse forever; the test for cycles reads `hasCycle`
    const direct = [k, ...this.ancestors(k)].flatMap((x) => this.byKey.get(x)?.dependsOn ?? []).flatMap((d) => this.subtree(d));
    const all = new Set<string>();
    for (const d of direct) {
      all.add(d);
      for (const t of this.closure(d)) all.add(t);
    }
    this.memo.set(k, all);
    return all;
  }

  /** A resource that (transitively) waits for itself, if any: Pulumi would never finish. */
  cycle(): string | undefined {
    return this.resources.map(key).find((k) => this.closure(k).has(k));
  }
}

function key(r: RecordedResource): string {
  return `${r.type}::${r.name}`;
}
