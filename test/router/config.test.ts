/**
 * The rendered LiteLLM config's shape for the shipped stacks, without a proxy: the facts
 * the proxy tests in this folder rely on, stated once where a reader can see them.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  DEFAULT_TAG,
  ENGINE_ORDER,
  MANAGED_ORDER,
  deploymentIds,
  litellmConfig,
  managedGroupName,
} from "../../core/render/litellm-config";
import { renderLitellmConfig } from "../../core/render/router-config";
import { perProcess } from "../../core/plan/router";
import { planOf, shippedStack } from "./router-fixture";

const dev = planOf(shippedStack("dev"));
const prod = planOf(shippedStack("prod"));

describe("rendered LiteLLM config", () => {
  it("divides each host's planned rpm and tpm by the router's workers, which count requests separately", () => {
    expect(perProcess(29, 4)).toBe(7);
    expect(perProcess(3, 4)).toBe(1);
    for (const plan of [dev, prod]) {
      const config = litellmConfig(plan);
      for (const host of plan.hosts) {
        const engine = config.model_list.find((d) => d.model_info.id === deploymentIds.engine(plan.engine.servedModelName, host.name))!;
        expect(engine.litellm_params["rpm"]).toBe(Math.floor(host.capacity.routerRpm / plan.router.numWorkers));
        expect(engine.litellm_params["tpm"]).toBe(Math.floor(host.capacity.routerTpm / plan.router.numWorkers));
      }
    }
    // prod: 17 planned rpm per host (its SLO operating point), 4 workers: 4 each.
    expect(prod.router.upstreams.map((u) => u.rpm)).toEqual([17, 17]);
    expect(litellmConfig(prod).model_list[0]!.litellm_params["rpm"]).toBe(4);
  });

  it("puts engines first, the managed tier second and the hard frontier deployment in the served model's group", () => {
    const served = prod.engine.servedModelName;
    const group = litellmConfig(prod).model_list.filter((d) => d.model_name === served);
    expect(group.map((d) => [d.model_info.id, d.litellm_params["order"], d.litellm_params["tags"], d.model_info["max_input_tokens"]])).toEqual([
      [deploymentIds.engine(served, "prod-gpu-1"), ENGINE_ORDER, [DEFAULT_TAG], prod.engine.maxModelLen],
      [deploymentIds.engine(served, "prod-gpu-2"), ENGINE_ORDER, [DEFAULT_TAG], prod.engine.maxModelLen],
      [deploymentIds.overflow(served, "together_ai"), MANAGED_ORDER, [DEFAULT_TAG], prod.engine.maxModelLen],
      // No cap: LiteLLM would copy it onto the frontier group's deployment of the same model.
      [deploymentIds.hard(served, "hard"), undefined, ["hard"], undefined],
    ]);
    const managed = litellmConfig(prod).model_list.find((d) => d.model_name === managedGroupName(served))!;
    expect(managed.model_info["max_input_tokens"]).toBe(prod.model.maxContext);
  });

  it("chains the fallbacks tier by tier and sets the cooldown policy from the plan", () => {
    const { router_settings: rs } = litellmConfig(prod);
    const served = prod.engine.servedModelName;
    expect(rs["fallbacks"]).toEqual([
      { [served]: ["frontier", "frontier-2"] },
      { [managedGroupName(served)]: ["frontier", "frontier-2"] },
      { frontier: ["frontier-2"] },
    ]);
    expect(rs["context_window_fallbacks"]).toEqual([{ [served]: ["frontier", "frontier-2"] }]);
    expect(rs["enable_pre_call_checks"]).toBe(true);
    expect(rs["enable_tag_filtering"]).toBe(true);
    expect(Object.values(rs["allowed_fails_policy"] as Record<string, number>)).toEqual(Array(5).fill(prod.router.allowedFails));

    const devRs = litellmConfig(dev).router_settings;
    expect(devRs["fallbacks"]).toEqual([{ "support-bot": [managedGroupName(dev.engine.servedModelName)] }]);
    expect(devRs["context_window_fallbacks"]).toEqual([]);
  });

  it("references every credential as os.environ/NAME and writes no other key material", () => {
    for (const plan of [dev, prod]) {
      const text = renderLitellmConfig(plan);
      const config = parse(text) as ReturnType<typeof litellmConfig>;
      for (const d of config.model_list) expect(d.litellm_params.api_key).toMatch(/^os\.environ\/[A-Z0-9_]+$/);
      expect(config.general_settings["master_key"]).toBe("os.environ/LITELLM_MASTER_KEY");
      expect(text).not.toMatch(/sk-|secret|PLACEHOLDER/i);
    }
  });
});
