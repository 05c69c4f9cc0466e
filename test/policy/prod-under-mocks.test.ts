/**
 * The prod stack under mocks with a real value for every secret (`rawInputs`: secrets as
 * `{ secret: value }`): the rules pass on what the program really asks for, and fail as soon
 * as one of its resources loses what they check. One stack per file: mock state is per process.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { checkCredentials } from "../../policy/rules/credentials";
import { checkEnginePorts } from "../../policy/rules/engine-ports";
import { checkPinnedImages } from "../../policy/rules/pinned-images";
import { checkProdResilience } from "../../policy/rules/prod-resilience";
import { type ResourceView, reveal } from "../../policy/view";
import { type StackRun, runStack } from "../components/stack-harness";
import { messages, toViews } from "./harness";

describe("prod under mocks, with secret values", () => {
  let run: StackRun;
  let views: ResourceView[];
  const byName = (name: string) => views.find((v) => v.name === name)!;
  const replace = (name: string, props: Record<string, unknown>) => views.map((v) => (v.name === name ? { ...v, props } : v));

  beforeAll(async () => {
    run = await runStack("prod");
    views = toViews(run.resources, "prod", (r) => r.rawInputs ?? {});
  });

  it("passes the resource rules and prod-resilience", () => {
    for (const v of views) {
      for (const rule of [checkEnginePorts, checkPinnedImages, checkCredentials]) expect(rule(v), `${rule.name} ${v.name}`).toEqual([]);
    }
    expect(checkProdResilience(views)).toEqual([]);
  });

  it("fails credentials when the router's env or the SSH key lose their secrecy", () => {
    const router = byName("prod-router-container");
    const plainEnvs = { ...router.props, envs: reveal(router.props["envs"]) };
    expect(messages(checkCredentials({ ...router, props: plainEnvs }))).toEqual(expect.arrayContaining([
      'container "prod-router": env LITELLM_MASTER_KEY holds a credential in plain text: pass it as a Pulumi secret (config.requireSecret or pulumi.secret)',
      'container "prod-router": env TOGETHERAI_API_KEY holds a credential in plain text: pass it as a Pulumi secret (config.requireSecret or pulumi.secret)',
    ]));
    const preflight = byName("prod-prod-gpu-1-preflight");
    const plainConnection = { ...preflight.props, connection: reveal(preflight.props["connection"]) };
    expect(messages(checkCredentials({ ...preflight, props: plainConnection }))).toEqual([
      'remote command "prod-prod-gpu-1-preflight": connection.privateKey is not a secret: read it with config.requireSecret (or wrap it in pulumi.secret)',
    ]);
  });

  it("fails the second host's engine published on all interfaces, and prod with one host or no frontier", () => {
    const engine = byName("prod-prod-gpu-2-engine-container");
    expect(engine.props["ports"]).toEqual([{ internal: 8000, external: 8000, ip: "10.20.0.32" }]);
    expect(messages(checkEnginePorts({ ...engine, props: { ...engine.props, ports: [{ internal: 8000, external: 8000 }] } }))).toHaveLength(1);

    const oneHost = views.filter((v) => v.name !== "prod-prod-gpu-2-engine-container");
    expect(messages(checkProdResilience(oneHost))).toEqual([expect.stringContaining("prod runs 1 engine and 1 router replica")]);

    const router = byName("prod-router-container");
    const uploads = router.props["uploads"] as { file: string; content: string }[];
    const noFrontier = uploads.map((u) => ({ ...u, content: u.content.replace(/- frontier\n/g, "- managed-only\n").replace(/^ {2}- model_name: frontier$/m, "  - model_name: frontier-disabled") }));
    expect(messages(checkProdResilience(replace("prod-router-container", { ...router.props, uploads: noFrontier })))).toEqual([
      expect.stringContaining('prod router "prod-router" has no frontier fallback'),
    ]);
  });

  it("fails an image whose tag is swapped for latest", () => {
    const image = byName("prod-router-container-image");
    expect(messages(checkPinnedImages({ ...image, props: { ...image.props, name: "ghcr.io/berriai/litellm:latest" } }))).toHaveLength(1);
  });
});
