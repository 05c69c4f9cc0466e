import { describe, expect, it } from "vitest";
import { validateStackConfig } from "../../core/config/validate";
import { loadPlan } from "../../core/load";
import { DEFAULT_SECRETS, rawConfig, validValues } from "../fixtures";
import { MASKED_SECRET, k8sValues } from "./fixtures";

const issuesOf = (values: Record<string, unknown>, secrets: readonly string[] = DEFAULT_SECRETS) => validateStackConfig(rawConfig(values, secrets)).issues;
const errorsOf = (values: Record<string, unknown>, secrets?: readonly string[]) => issuesOf(values, secrets).filter((i) => i.severity === "error");
const byPath = (issues: readonly { path: string; message: string; fix: string }[]) => Object.fromEntries(issues.map((i) => [i.path, i]));

describe("the kubernetes target's stack keys", () => {
  it("accepts target: kubernetes with the documented defaults", () => {
    const { spec, issues } = validateStackConfig(rawConfig(k8sValues()));
    expect(issues.filter((i) => i.severity === "error")).toEqual([]);
    expect(spec?.target).toBe("kubernetes");
    expect(spec?.kubernetes).toEqual({
      cluster: "k3s", namespace: "hybrid-inference", router_replicas: 2, runtime_class: "nvidia",
      model_cache: { type: "host_path" }, reserve_surge_slot: false,
    });
  });

  it("plans the placement for target kubernetes only", () => {
    const k8s = loadPlan(rawConfig(k8sValues())).plan?.target;
    expect(k8s?.kind === "kubernetes" ? k8s.placement.groups : []).toHaveLength(2);
    expect(loadPlan(rawConfig(validValues())).plan?.target.kind).toBe("docker");
  });

  it("refuses misspelt keys, a single router replica and a bad k3s version, each with its path and a fix", () => {
    const issues = byPath(errorsOf(k8sValues({ kubernetes: { clustr: "k3s", router_replicas: 1, version: "1.36" } })));
    expect(issues["hybrid-inference:kubernetes.clustr"]?.message).toBe('is not a known key; did you mean "cluster"?');
    expect(issues["hybrid-inference:kubernetes.router_replicas"]?.fix).toBe("use a value of at least 2");
    expect(issues["hybrid-inference:kubernetes.version"]?.message).toBe("must be a k3s release such as v1.36.4+k3s1");
    for (const i of Object.values(issues)) expect(i.fix.length).toBeGreaterThan(0);
  });

  it("requires a kubeconfig secret for an existing cluster, and only there", () => {
    const [missing] = errorsOf(k8sValues({ kubernetes: { cluster: "existing" } }), ["togetherApiKey"]);
    expect(missing?.path).toBe("hybrid-inference:kubernetes.kubeconfig_secret");
    expect(missing?.fix).toContain("pulumi config set --secret kubeconfig");

    const [plain] = errorsOf(k8sValues({ kubernetes: { cluster: "existing", kubeconfig_secret: "kubeconfig" }, kubeconfig: "apiVersion: v1" }), ["togetherApiKey"]);
    expect(plain?.path).toBe("hybrid-inference:kubeconfig");
    expect(plain?.message).toBe("the kubeconfig is stored in plain text");

    // An existing cluster needs no SSH key; k3s does.
    expect(errorsOf(k8sValues({ kubernetes: { cluster: "existing", kubeconfig_secret: "kubeconfig" }, kubeconfig: MASKED_SECRET, sshPrivateKey: undefined }), ["togetherApiKey", "kubeconfig"])).toEqual([]);

    const [k3s] = errorsOf(k8sValues({ kubernetes: { kubeconfig_secret: "kubeconfig" } }));
    expect(k3s?.path).toBe("hybrid-inference:kubernetes.kubeconfig_secret");
    expect(k3s?.message).toContain("only read with cluster: existing");
    const [version] = errorsOf(k8sValues({ kubernetes: { cluster: "existing", kubeconfig_secret: "kubeconfig", version: "v1.36.4+k3s1" }, kubeconfig: MASKED_SECRET }), ["togetherApiKey", "kubeconfig"]);
    expect(version?.path).toBe("hybrid-inference:kubernetes.version");
  });

  it("needs IP addresses for k3s nodes", () => {
    const [issue] = errorsOf(k8sValues({ hosts: [{ name: "gpu-1", address: "gpu-1.example.co.uk", datacenter: "uk-london", gpu: "rtx-5090" }] }));
    expect(issue?.path).toBe("hybrid-inference:hosts[0].address");
    expect(issue?.message).toContain("a k3s node needs an IP address");
  });

  it("checks the Ingress's certificate settings", () => {
    const one = errorsOf(k8sValues({ kubernetes: { ingress: { host: "llm.example.co.uk", certificate_secret: "tlsCert" } } }));
    expect(one.map((i) => i.path)).toEqual(["hybrid-inference:kubernetes.ingress"]);
    const both = errorsOf(k8sValues({
      kubernetes: { ingress: { host: "llm.example.co.uk", certificate_secret: "tlsCert", private_key_secret: "tlsKey", cert_manager_cluster_issuer: "le" } },
      tlsCert: MASKED_SECRET, tlsKey: MASKED_SECRET,
    }), [...DEFAULT_SECRETS, "tlsCert", "tlsKey"]);
    expect(both.map((i) => i.path)).toEqual(["hybrid-inference:kubernetes.ingress.cert_manager_cluster_issuer"]);
    const plainHttp = issuesOf(k8sValues({ kubernetes: { ingress: { host: "llm.example.co.uk" } } }));
    expect(plainHttp.filter((i) => i.severity === "warning").map((i) => i.path)).toEqual(expect.arrayContaining([
      "hybrid-inference:kubernetes.ingress", "hybrid-inference:router.allowed_cidrs",
    ]));
  });

  it("refuses router.tls on kubernetes (the Ingress serves HTTPS) and a max below the minimum of router pods", () => {
    const issues = byPath(errorsOf(k8sValues({
      router: { allowed_cidrs: ["0.0.0.0/0"], managed: { provider: "together_ai", api_key_secret: "togetherApiKey" }, tls: { domain: "llm.example.co.uk" } },
      kubernetes: { router_replicas: 3, router_max_replicas: 2 },
    })));
    expect(issues["hybrid-inference:router.tls"]?.fix).toContain("kubernetes.ingress.host");
    expect(issues["hybrid-inference:kubernetes.router_max_replicas"]?.message).toBe("2 is below router_replicas (3)");
  });

  it("warns that a kubernetes key is ignored by the docker target", () => {
    const issues = issuesOf({ ...validValues(), kubernetes: { namespace: "x" } });
    expect(issues).toContainEqual(expect.objectContaining({ severity: "warning", path: "hybrid-inference:kubernetes" }));
    expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  });
});
