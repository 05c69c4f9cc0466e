/**
 * Every rule passes on every shipped stack, as `npm run plan -- --json` records it (the real
 * program under mocks, one process per stack). Secrets arrive masked and are read back as
 * secrets; the mock run with real secret values is prod-under-mocks.test.ts.
 */
import { readdirSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { checkCredentials } from "../../policy/rules/credentials";
import { checkEnginePorts } from "../../policy/rules/engine-ports";
import { checkPinnedImages } from "../../policy/rules/pinned-images";
import { K8S_SECRET_TYPE, containersOf } from "../../policy/kubernetes";
import { checkProdResilience, engineCount } from "../../policy/rules/prod-resilience";
import { checkResidency } from "../../policy/rules/residency";
import { CONTAINER_TYPE, REMOTE_IMAGE_TYPE, type ResourceView, isHybridComponent, isNotApplicable } from "../../policy/view";
import { ROOT, planResources, toViews, unmask } from "./harness";

const stacks = readdirSync(path.join(ROOT, "stacks"))
  .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
  .filter((s): s is string => s !== undefined);

describe.each(stacks)("shipped stack %s", (stack) => {
  let views: ResourceView[] = [];
  it("plans under mocks", () => {
    views = toViews(planResources(stack), stack, (r) => unmask(r.inputs) as Record<string, unknown>);
    expect(views.some((v) => isHybridComponent(v.type))).toBe(true);
  }, 90_000);

  it("passes every resource rule", () => {
    // The rules really look at something: engines, images, and credentials behind secrets.
    expect(engineCount(views)).toBeGreaterThanOrEqual(1);
    const images = views.filter((v) => v.type === REMOTE_IMAGE_TYPE).length + views.flatMap(containersOf).length;
    expect(images).toBeGreaterThanOrEqual(2);
    expect(views.filter((v) => v.type === CONTAINER_TYPE).every((v) => JSON.stringify(v.props["envs"]).includes('"secret"'))).toBe(true);
    expect(views.filter((v) => v.type === K8S_SECRET_TYPE).every((v) => JSON.stringify(v.props["stringData"]).includes('"secret"'))).toBe(true);
    for (const v of views) {
      for (const rule of [checkEnginePorts, checkPinnedImages, checkCredentials]) {
        expect(rule(v), `${rule.name} on ${v.type} ${v.name}`).toEqual([]);
      }
    }
  });

  it("passes residency once the component exposes its hosts (not applicable until then)", () => {
    const component = views.find((v) => isHybridComponent(v.type))!;
    const result = checkResidency(component);
    if (isNotApplicable(result)) expect(component.props["hosts"]).toBeUndefined();
    else expect(result).toEqual([]);
  });

  it("passes prod-resilience (which applies to production stacks only)", () => {
    const result = checkProdResilience(views);
    if (stack.startsWith("prod")) expect(result).toEqual([]);
    else expect(isNotApplicable(result)).toBe(true);
  });
});
