import { describe, expect, it } from "vitest";
import { K8S_CONFIGMAP_TYPE, K8S_DEPLOYMENT_TYPE, K8S_HPA_TYPE, K8S_SECRET_TYPE, K8S_SERVICE_TYPE } from "../../policy/kubernetes";
import { addressKind } from "../../policy/rules/addresses";
import { checkCredentials } from "../../policy/rules/credentials";
import { checkEnginePorts } from "../../policy/rules/engine-ports";
import { checkPinnedImages, imagePinProblem, parseImageRef } from "../../policy/rules/pinned-images";
import { DEFAULT_PROD_RESILIENCE, checkProdResilience, hasFrontierFallback, isProduction } from "../../policy/rules/prod-resilience";
import { RESIDENCY_NOT_EXPOSED, checkResidency } from "../../policy/rules/residency";
import {
  COMPONENT_TYPE, CONTAINER_TYPE, DOCKER_PROVIDER_TYPE, LOCAL_COMMAND_TYPE, REMOTE_COMMAND_TYPE, REMOTE_IMAGE_TYPE, UNKNOWN,
} from "../../policy/view";
import { messages, resource } from "./harness";

const DIGEST = `sha256:${"a1".repeat(32)}`;

describe("uk-residency", () => {
  const component = (props: Record<string, unknown>) => resource(COMPONENT_TYPE, "prod", props);

  it("is not applicable while the component exposes no hosts, and says what it needs", () => {
    expect(checkResidency(component({}))).toEqual({ notApplicable: RESIDENCY_NOT_EXPOSED });
    expect(RESIDENCY_NOT_EXPOSED).toContain("hosts: [{ name, address, datacenter }]");
  });

  it("fails a host outside the UK under residency uk, naming the host and the datacenter", () => {
    const r = component({
      environment: "prod",
      residency: "uk",
      hosts: [
        { name: "gpu-1", address: "203.0.113.31", datacenter: "uk-london" },
        { name: "gpu-2", address: "203.0.113.32", datacenter: "de-frankfurt" },
      ],
    });
    expect(messages(checkResidency(r))).toEqual([
      'host "gpu-2" is in datacenter "de-frankfurt", outside the UK, but residency is uk: move it to a uk-<site> or gb-<site> datacenter, or set residency: none if data may leave the UK',
    ]);
  });

  it("takes residency uk by default, as the stack file does", () => {
    const r = component({ hosts: [{ name: "gpu-1", datacenter: "us-east" }] });
    expect(messages(checkResidency(r))).toHaveLength(1);
  });

  it("fails a host with no datacenter and a residency it does not know", () => {
    expect(messages(checkResidency(component({ residency: "uk", hosts: [{ name: "gpu-1" }] })))).toEqual([
      'host "gpu-1" has no datacenter, so it cannot be shown to be in the UK',
    ]);
    expect(messages(checkResidency(component({ residency: "eu", hosts: [] })))[0]).toContain('unknown residency "eu"');
  });

  it("passes uk-* and gb-* hosts, anything under residency none, and other resource types", () => {
    expect(checkResidency(component({ residency: "uk", hosts: [{ name: "a", datacenter: "uk-london" }, { name: "b", datacenter: "gb-edinburgh" }] }))).toEqual([]);
    expect(checkResidency(component({ residency: "none", hosts: [{ name: "a", datacenter: "us-east" }] }))).toEqual([]);
    expect(checkResidency(resource(CONTAINER_TYPE, "x", { residency: "uk", hosts: [{ name: "a", datacenter: "us-east" }] }))).toEqual([]);
  });
});

describe("no-public-engine-port", () => {
  const engine = (props: Record<string, unknown>) => resource(CONTAINER_TYPE, "gpu-2-engine-container", { name: "gpu-2-engine", ...props });

  it("fails an engine port published on every interface", () => {
    expect(messages(checkEnginePorts(engine({ ports: [{ internal: 8000, external: 8000 }] })))).toEqual([
      'engine container "gpu-2-engine" publishes port 8000->8000 on every interface (0.0.0.0): an engine must be reachable only through the router; publish nothing, or bind it to a private address (RFC 1918 or IPv6 ULA)',
    ]);
    expect(messages(checkEnginePorts(engine({ ports: [{ internal: 8000, external: 8000, ip: "0.0.0.0" }] })))).toHaveLength(1);
  });

  it("fails a public address, a non-address and host networking", () => {
    expect(messages(checkEnginePorts(engine({ ports: [{ internal: 8000, external: 8000, ip: "203.0.113.32" }] })))).toEqual([
      'engine container "gpu-2-engine" publishes port 8000->8000 on public address 203.0.113.32: bind it to a private address (RFC 1918 or IPv6 ULA) or publish nothing',
    ]);
    expect(messages(checkEnginePorts(engine({ ports: [{ internal: 8000, external: 8000, ip: "gpu-host.example" }] })))[0]).toContain("which is not an IP address");
    expect(messages(checkEnginePorts(engine({ networkMode: "host", ports: [] })))[0]).toContain("uses host networking");
  });

  it("allows RFC 1918, IPv6 ULA and loopback addresses, and no ports at all", () => {
    for (const ip of ["10.20.0.32", "172.16.5.4", "192.168.1.2", "fd00::12", "127.0.0.1", "::1"]) {
      expect(checkEnginePorts(engine({ ports: [{ internal: 8000, external: 8000, ip }] })), ip).toEqual([]);
    }
    expect(checkEnginePorts(engine({ ports: [] }))).toEqual([]);
    expect(checkEnginePorts(engine({ ports: [{ internal: 8000, external: 8000, ip: UNKNOWN }] }))).toEqual([]);
  });

  it("knows an engine by its component parent as well as by its name, and leaves the router alone", () => {
    const byParent = resource(CONTAINER_TYPE, "c", { name: "llm", ports: [{ internal: 80, external: 80 }] }, { parents: [COMPONENT_TYPE, "hybrid:engine:LoraxServer"] });
    expect(messages(checkEnginePorts(byParent))).toHaveLength(1);
    const router = resource(CONTAINER_TYPE, "prod-router-container", { name: "prod-router", ports: [{ internal: 4000, external: 4000 }] });
    expect(checkEnginePorts(router)).toEqual([]);
  });

  it("classifies addresses", () => {
    expect(["", "0.0.0.0", "::", "10.0.0.1", "172.32.0.1", "fe80::1", "127.0.0.2", "x"].map(addressKind))
      .toEqual(["unspecified", "unspecified", "unspecified", "private", "public", "public", "loopback", "invalid"]);
  });
});

describe("pinned-images", () => {
  it("parses references with registries, ports, tags and digests", () => {
    expect(parseImageRef("localhost:5000/team/img")).toEqual({ repository: "localhost:5000/team/img" });
    expect(parseImageRef("ghcr.io/berriai/litellm:v1.83.0-stable")).toEqual({ repository: "ghcr.io/berriai/litellm", tag: "v1.83.0-stable" });
    expect(parseImageRef(`vllm/vllm-openai:v0.33.0@${DIGEST}`)).toEqual({ repository: "vllm/vllm-openai", tag: "v0.33.0", digest: DIGEST });
  });

  it("fails latest, no tag, a floating tag and a malformed digest", () => {
    const image = (name: string) => resource(REMOTE_IMAGE_TYPE, "gpu-1-engine-container-image", { name, keepLocally: true });
    expect(messages(checkPinnedImages(image("vllm/vllm-openai:latest")))).toEqual([
      'remote image "gpu-1-engine-container-image": image "vllm/vllm-openai:latest" is tagged "latest": pin a version tag (e.g. :v1.2.3) or a digest (@sha256:...)',
    ]);
    expect(messages(checkPinnedImages(image("vllm/vllm-openai")))[0]).toContain("has no tag, so Docker pulls \"latest\"");
    expect(messages(checkPinnedImages(image("localhost:5000/vllm")))[0]).toContain("has no tag");
    expect(messages(checkPinnedImages(image("ghcr.io/berriai/litellm:main-stable")))[0]).toContain('is tagged "main-stable", which is not a version');
    expect(messages(checkPinnedImages(image("vllm/vllm-openai@sha256:abc")))[0]).toContain("malformed digest");
  });

  it("passes version tags and digests", () => {
    for (const ref of ["vllm/vllm-openai:v0.33.0", "ghcr.io/predibase/lorax:0.12.1", "ghcr.io/berriai/litellm:v1.83.0-stable", `vllm/vllm-openai@${DIGEST}`, `img:latest@${DIGEST}`]) {
      expect(imagePinProblem(ref), ref).toBeUndefined();
    }
  });

  it("checks a container's literal image but not an image ID or an unknown", () => {
    expect(messages(checkPinnedImages(resource(CONTAINER_TYPE, "c", { image: "nginx:latest" })))).toHaveLength(1);
    expect(checkPinnedImages(resource(CONTAINER_TYPE, "c", { image: DIGEST }))).toEqual([]);
    expect(checkPinnedImages(resource(CONTAINER_TYPE, "c", { image: UNKNOWN }))).toEqual([]);
    expect(checkPinnedImages(resource(REMOTE_COMMAND_TYPE, "c", { name: "x:latest" }))).toEqual([]);
  });
});

describe("credentials-as-secrets", () => {
  const container = (props: Record<string, unknown>) => resource(CONTAINER_TYPE, "prod-router-container", { name: "prod-router", ...props });

  it("fails credential env entries in plain text, and only those", () => {
    const r = container({ envs: ["HF_HOME=/root/.cache/huggingface", "TOGETHERAI_API_KEY=tgp-123", "LITELLM_MASTER_KEY=sk-1", "HF_TOKEN=hf_1", "EMPTY_TOKEN="] });
    expect(messages(checkCredentials(r))).toEqual([
      'container "prod-router": env TOGETHERAI_API_KEY holds a credential in plain text: pass it as a Pulumi secret (config.requireSecret or pulumi.secret)',
      'container "prod-router": env LITELLM_MASTER_KEY holds a credential in plain text: pass it as a Pulumi secret (config.requireSecret or pulumi.secret)',
      'container "prod-router": env HF_TOKEN holds a credential in plain text: pass it as a Pulumi secret (config.requireSecret or pulumi.secret)',
    ]);
  });

  it("passes credential envs that are secrets, one by one or as a whole list", () => {
    expect(checkCredentials(container({ envs: { secret: ["TOGETHERAI_API_KEY=tgp-123", "HF_HOME=/x"] } }))).toEqual([]);
    expect(checkCredentials(container({ envs: [{ secret: "TOGETHERAI_API_KEY=tgp-123" }, "HF_HOME=/x"] }))).toEqual([]);
  });

  it("fails a credential flag with a plain-text value on the command line", () => {
    expect(messages(checkCredentials(container({ command: ["model", "--api-key", "abc"] })))).toEqual([
      'container "prod-router": argument --api-key puts a credential on the command line in plain text: pass it as a secret env var instead',
    ]);
    expect(messages(checkCredentials(container({ command: ["--api-key=abc", "--port", "8000"] })))).toHaveLength(1);
    expect(checkCredentials(container({ command: ["--api-key", { secret: "abc" }] }))).toEqual([]);
    expect(checkCredentials(container({ command: ["--max-num-seqs", "64"] }))).toEqual([]);
  });

  it("fails an uploaded config with a literal credential, and passes os.environ references", () => {
    const literal = "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/gpt-5\n      api_key: sk-literal\n";
    expect(messages(checkCredentials(container({ uploads: [{ file: "/app/config.yaml", content: literal }] })))).toEqual([
      'container "prod-router": uploaded /app/config.yaml sets model_list[0].litellm_params.api_key to a literal value: reference an env var (os.environ/NAME) and pass that as a secret',
    ]);
    const byReference = "model_list:\n  - model_name: m\n    litellm_params:\n      api_key: os.environ/OPENAI_API_KEY\n      max_tokens: 100\ngeneral_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n";
    expect(checkCredentials(container({ uploads: [{ file: "/app/config.yaml", content: byReference }] }))).toEqual([]);
    expect(checkCredentials(container({ uploads: [{ file: "/app/config.yaml", content: { secret: literal } }] }))).toEqual([]);
  });

  it("fails an SSH private key that is not a secret, and passes the SDK's secret connection", () => {
    const cmd = (connection: unknown) => resource(REMOTE_COMMAND_TYPE, "gpu-1-preflight", { connection, create: "bash -s" });
    expect(messages(checkCredentials(cmd({ host: "203.0.113.10", user: "ubuntu", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" })))).toEqual([
      'remote command "gpu-1-preflight": connection.privateKey is not a secret: read it with config.requireSecret (or wrap it in pulumi.secret)',
    ]);
    expect(checkCredentials(cmd({ secret: { host: "203.0.113.10", privateKey: "k" } }))).toEqual([]);
    expect(checkCredentials(cmd({ host: "203.0.113.10", privateKey: { secret: "k" } }))).toEqual([]);
  });

  it("fails credential environment entries of commands and registry passwords in plain text", () => {
    expect(messages(checkCredentials(resource(LOCAL_COMMAND_TYPE, "wait", { environment: { HI_KEY_FILE: "/tmp/k", DEPLOY_TOKEN: "t" } })))).toEqual([
      'local command "wait": environment DEPLOY_TOKEN holds a credential in plain text: pass it as a Pulumi secret',
    ]);
    expect(checkCredentials(resource(LOCAL_COMMAND_TYPE, "wait", { environment: { DEPLOY_TOKEN: { secret: "t" } } }))).toEqual([]);
    const provider = resource(DOCKER_PROVIDER_TYPE, "gpu-1-docker", { host: "ssh://u@h:22", registryAuth: [{ address: "ghcr.io", username: "u", password: "p" }] });
    expect(messages(checkCredentials(provider))).toEqual(['docker provider "gpu-1-docker": the password for registry ghcr.io is not a secret']);
  });
});

describe("prod-resilience", () => {
  const config = (frontier: boolean) => [
    "model_list:",
    "  - model_name: llama",
    "    litellm_params: { model: hosted_vllm/llama, api_key: os.environ/HOSTED_VLLM_API_KEY }",
    ...(frontier ? ["  - model_name: frontier", "    litellm_params: { model: anthropic/claude-sonnet-4-5, api_key: os.environ/ANTHROPIC_API_KEY }"] : []),
    "router_settings:",
    `  fallbacks: ${frontier ? "[{ llama: [frontier] }]" : "[]"}`,
    "",
  ].join("\n");
  const router = (stack: string, frontier: boolean) =>
    resource(CONTAINER_TYPE, `${stack}-router-container`, { name: `${stack}-router`, uploads: [{ file: "/app/config.yaml", content: config(frontier) }] }, { stack, parents: [COMPONENT_TYPE, "hybrid:router:LiteLlmRouter"] });
  const engine = (stack: string, host: string) =>
    resource(CONTAINER_TYPE, `${host}-engine-container`, { name: `${host}-engine` }, { stack, parents: [COMPONENT_TYPE, "hybrid:engine:VllmServer"] });

  it("fails prod with one host, one router and no frontier fallback", () => {
    expect(messages(checkProdResilience([router("prod", false), engine("prod", "gpu-1")]))).toEqual([
      'prod router "prod-router" has no frontier fallback: its LiteLLM config has no "frontier" model group in its fallbacks, so nothing answers when the hosts and the managed tier are down: add router.frontier to the stack file',
      "prod runs 1 engine and 1 router replica: it needs at least 2 of either, so that one failure does not take it down",
    ]);
  });

  it("fails prod without any router config", () => {
    expect(messages(checkProdResilience([engine("prod", "gpu-1"), engine("prod", "gpu-2")]))[0]).toContain("has no LiteLLM router");
  });

  it("passes prod with a frontier fallback and two hosts, or two router replicas", () => {
    expect(checkProdResilience([router("prod", true), engine("prod", "gpu-1"), engine("prod", "gpu-2")])).toEqual([]);
    const second = { ...router("prod", true), name: "prod-router-2-container", urn: router("prod", true).urn.replace("prod-router-container", "prod-router-2-container") };
    expect(checkProdResilience([router("prod", true), second, engine("prod", "gpu-1")])).toEqual([]);
  });

  it("applies to production only: by the component's environment, else the stack name", () => {
    expect(checkProdResilience([router("dev", false), engine("dev", "gpu-1")])).toEqual({ notApplicable: expect.stringContaining('"dev" is not production') });
    const live = resource(COMPONENT_TYPE, "live", { environment: "prod" }, { stack: "live" });
    expect(messages(checkProdResilience([live, router("live", false), engine("live", "gpu-1")]))).toHaveLength(2);
    expect(checkProdResilience([router("live", false)], { prodEnvironments: ["prod"], minHostsOrReplicas: 2 })).toHaveProperty("notApplicable");
    expect(messages(checkProdResilience([router("live", true), engine("live", "a")], { prodEnvironments: ["live"], minHostsOrReplicas: 1 }))).toEqual([]);
  });

  it("counts prod, production and their suffixed names as production", () => {
    const prod = DEFAULT_PROD_RESILIENCE.prodEnvironments;
    expect(["prod", "production", "prod-k8s", "prod_eu", "production-2"].filter((e) => isProduction(e, prod))).toHaveLength(5);
    expect(["dev", "staging", "preprod", "products", "productive"].filter((e) => isProduction(e, prod))).toEqual([]);
  });

  it("wants the frontier group named in a fallback list, not merely present", () => {
    expect(hasFrontierFallback(config(true))).toBe(true);
    expect(hasFrontierFallback(config(false))).toBe(false);
    expect(hasFrontierFallback("model_list:\n  - model_name: frontier\nrouter_settings:\n  fallbacks: []\n")).toBe(false);
    expect(hasFrontierFallback("model_list: [{ model_name: frontier }]\nlitellm_settings:\n  fallbacks: [{ m: [frontier] }]\n")).toBe(true);
    expect(hasFrontierFallback(": not yaml [")).toBe(false);
  });
});

describe("kubernetes target", () => {
  const labels = (component: string) => ({ "app.kubernetes.io/name": "hybrid-inference", "app.kubernetes.io/component": component });
  const service = (component: string, spec: Record<string, unknown>) =>
    resource(K8S_SERVICE_TYPE, `prod-k8s-service-${component}`, { metadata: { name: component, labels: labels(component) }, spec: { ports: [{ port: 8000 }], ...spec } });
  const deployment = (component: string, pod: Record<string, unknown>, replicas?: number) =>
    resource(K8S_DEPLOYMENT_TYPE, `prod-k8s-deployment-${component}`, {
      metadata: { name: component, labels: labels(component) },
      spec: { ...(replicas === undefined ? {} : { replicas }), template: { spec: pod } },
    }, { stack: "prod-k8s" });
  const container = (fields: Record<string, unknown>) => ({ name: "engine", image: "vllm/vllm-openai:v0.33.0", ...fields });

  it("fails an engine Service outside ClusterIP and engine pods on the host network or host ports", () => {
    expect(messages(checkEnginePorts(service("engine", { type: "LoadBalancer" })))).toEqual([
      'engine Service "engine" is of type LoadBalancer, which exposes the engine outside the cluster: use ClusterIP and let the router reach it',
    ]);
    expect(messages(checkEnginePorts(service("engine", { type: "ClusterIP", externalIPs: ["203.0.113.5"] }))))
      .toEqual(['engine Service "engine" has externalIPs, which expose the engine outside the cluster: remove them']);
    expect(checkEnginePorts(service("engine", { type: "ClusterIP" }))).toEqual([]);
    expect(checkEnginePorts(service("router", { type: "LoadBalancer" }))).toEqual([]);
    expect(messages(checkEnginePorts(deployment("engine", { hostNetwork: true, containers: [container({})] })))[0]).toContain("uses the host network");
    expect(messages(checkEnginePorts(deployment("engine", { containers: [container({ ports: [{ containerPort: 8000, hostPort: 8000 }] })] })))).toEqual([
      'engine workload "engine": container "engine" publishes hostPort 8000 on every interface (0.0.0.0): an engine must be reachable only through the router; publish nothing, or bind it to a private address (RFC 1918 or IPv6 ULA)',
    ]);
    expect(checkEnginePorts(deployment("engine", { containers: [container({ ports: [{ containerPort: 8000, hostPort: 8000, hostIP: "10.20.0.41" }] })] }))).toEqual([]);
  });

  it("checks the image of every container and init container", () => {
    const pod = { initContainers: [{ name: "fetch", image: "busybox" }], containers: [container({ image: "vllm/vllm-openai:latest" })] };
    expect(messages(checkPinnedImages(deployment("engine", pod)))).toEqual([
      'Deployment "engine": container "fetch": image "busybox" has no tag, so Docker pulls "latest": pin a version tag (e.g. :v1.2.3) or a digest (@sha256:...)',
      'Deployment "engine": container "engine": image "vllm/vllm-openai:latest" is tagged "latest": pin a version tag (e.g. :v1.2.3) or a digest (@sha256:...)',
    ]);
    expect(checkPinnedImages(deployment("engine", { containers: [container({})] }))).toEqual([]);
  });

  it("fails literal credentials in pod env, Secrets that are not Pulumi secrets and ConfigMaps with literal keys", () => {
    const env = [{ name: "HF_HOME", value: "/x" }, { name: "OPENAI_API_KEY", value: "sk-1" }, { name: "VLLM_API_KEY", valueFrom: { secretKeyRef: { name: "engine-credentials", key: "VLLM_API_KEY" } } }];
    expect(messages(checkCredentials(deployment("router", { containers: [container({ name: "router", env })] })))).toEqual([
      'Deployment "router": container "router": env OPENAI_API_KEY holds a credential in plain text: take it from a Secret (valueFrom.secretKeyRef)',
    ]);
    const secret = (stringData: unknown) => resource(K8S_SECRET_TYPE, "s", { metadata: { name: "router-credentials" }, stringData });
    expect(messages(checkCredentials(secret({ OPENAI_API_KEY: "sk-1" })))).toEqual([
      'Secret "router-credentials": stringData.OPENAI_API_KEY is not a Pulumi secret, so its value is stored in plain text in the state: wrap it in pulumi.secret',
    ]);
    expect(checkCredentials(secret({ secret: { OPENAI_API_KEY: "sk-1" } }))).toEqual([]);
    const configMap = resource(K8S_CONFIGMAP_TYPE, "cm", { metadata: { name: "router-config" }, data: { "config.yaml": "general_settings:\n  master_key: sk-literal\n" } });
    expect(messages(checkCredentials(configMap))).toEqual([
      'ConfigMap "router-config": config.yaml sets general_settings.master_key to a literal value: reference an env var (os.environ/NAME) fed from a Secret',
    ]);
  });

  it("reads prod resilience from the router ConfigMap, engine replicas and the router's autoscaler floor", () => {
    const configMap = (frontier: boolean) => resource(K8S_CONFIGMAP_TYPE, "prod-k8s-configmap-router-config", {
      metadata: { name: "router-config" },
      data: { "config.yaml": `model_list:\n  - model_name: m\n  - model_name: frontier\nrouter_settings:\n  fallbacks: [{ m: [${frontier ? "frontier" : ""}] }]\n` },
    }, { stack: "prod-k8s" });
    const hpa = (min: number) => resource(K8S_HPA_TYPE, "hpa", { spec: { minReplicas: min, maxReplicas: 6, scaleTargetRef: { kind: "Deployment", name: "router" } } }, { stack: "prod-k8s" });
    const engine = deployment("engine", { containers: [container({})] }, 1);
    const router = deployment("router", { containers: [container({ name: "router" })] }, 1);
    const k8sConfig = DEFAULT_PROD_RESILIENCE;
    expect(checkProdResilience([configMap(true), engine, router, hpa(2)], k8sConfig)).toEqual([]);
    expect(messages(checkProdResilience([configMap(true), engine, router, hpa(1)], k8sConfig))).toEqual([
      "prod-k8s runs 1 engine and 1 router replica: it needs at least 2 of either, so that one failure does not take it down",
    ]);
    expect(messages(checkProdResilience([configMap(false), engine, router, hpa(2)], k8sConfig))).toEqual([
      expect.stringContaining('prod-k8s router config "router-config" has no frontier fallback'),
    ]);
    expect(messages(checkProdResilience([engine, router, hpa(2)], k8sConfig))).toEqual(["prod-k8s has a router but no LiteLLM config to show a frontier fallback"]);
  });
});
