import { describe, expect, it } from "vitest";
import { loadPlan } from "../../core/load";
import { routerContainer } from "../../core/render/containers";
import { renderRouter } from "../../core/render/router-config";
import { rawConfig, validValues } from "../fixtures";

const routerWith = (patch: object) => {
  const v = validValues();
  const { plan, issues } = loadPlan(rawConfig({ ...v, router: { ...(v["router"] as object), ...patch } }));
  if (!plan) throw new Error(JSON.stringify(issues));
  return routerContainer(plan, renderRouter(plan));
};

describe("router container", () => {
  it("turns the admin UI and API docs off unless the stack asks for them", () => {
    expect(routerWith({}).env).toMatchObject({ DISABLE_ADMIN_UI: "True", NO_DOCS: "True", NO_REDOC: "True" });
    const withUi = routerWith({ admin_ui: true }).env;
    expect(withUi["DISABLE_ADMIN_UI"]).toBeUndefined();
    expect(withUi["NO_DOCS"]).toBeUndefined();
  });

  it("starts offline and never receives a credential as plain env", () => {
    const spec = routerWith({});
    expect(spec.env).toMatchObject({ LITELLM_LOCAL_MODEL_COST_MAP: "True", HF_HUB_OFFLINE: "1", LITELLM_MODE: "PRODUCTION" });
    expect(Object.keys(spec.env).filter((k) => /KEY|TOKEN|SECRET/.test(k))).toEqual([]);
    expect(Object.keys(spec.secretEnv).sort()).toEqual(["HOSTED_VLLM_API_KEY", "LITELLM_MASTER_KEY", "TOGETHERAI_API_KEY"]);
  });
});
