import { describe, expect, it } from "vitest";
import { formatIssues } from "../../core/config/issues";
import { parseStackYaml } from "../../core/config/source";
import { validateStackConfig } from "../../core/config/validate";
import { loadPlan } from "../../core/load";
import { rawConfig, validValues, withValues } from "../fixtures";

function errorsOf(values: Record<string, unknown>, secrets?: readonly string[]) {
  return validateStackConfig(rawConfig(values, secrets)).issues.filter((i) => i.severity === "error");
}

describe("stack config validation", () => {
  it("accepts a valid stack and fills the documented defaults", () => {
    const { spec, issues } = validateStackConfig(rawConfig(validValues()));
    expect(issues.filter((i) => i.severity === "error")).toEqual([]);
    expect(spec?.engine.kind).toBe("vllm");
    expect(spec?.engine.gpu_memory_utilization).toBe(0.9);
    expect(spec?.hosts[0]?.ssh_user).toBe("ubuntu");
    expect(spec?.router.port).toBe(4000);
  });

  it("reports a missing required key with its path and how to add it", () => {
    const values = validValues();
    delete values["hosts"];
    const [issue] = errorsOf(values);
    expect(issue?.path).toBe("hybrid-inference:hosts");
    expect(issue?.message).toBe("is missing");
    expect(issue?.fix).toContain("add `hybrid-inference:hosts`");
  });

  it("names the nearest catalog ids for an unknown GPU", () => {
    const [issue] = errorsOf(withValues({ hosts: [{ name: "gpu-1", address: "203.0.113.10", datacenter: "uk-london", gpu: "rtx4090" }] }));
    expect(issue?.path).toBe("hybrid-inference:hosts[0].gpu");
    expect(issue?.message).toBe('unknown GPU "rtx4090"');
    expect(issue?.fix).toMatch(/^use a catalog id; nearest: rtx-4090,/);
  });

  it("names the nearest catalog ids for an unknown model", () => {
    const [issue] = errorsOf(withValues({ model: { id: "qwen-2.5-7b" } }));
    expect(issue?.path).toBe("hybrid-inference:model.id");
    expect(issue?.fix).toContain("qwen2.5-7b-instruct");
  });

  it("refuses an adapter trained on another model, and one above the engine's rank limit", () => {
    const issues = errorsOf(withValues({
      adapters: [
        { name: "legal", source: "hf://acme/legal-lora", rank: 16, base_model: "mistral-7b-instruct-v0.3" },
        { name: "huge", source: "/srv/adapters/huge", rank: 1024, base_model: "qwen2.5-7b-instruct" },
      ],
    }));
    expect(issues.map((i) => i.path)).toEqual(["hybrid-inference:adapters[0].base_model", "hybrid-inference:adapters[1].rank"]);
    expect(issues[0]?.message).toBe('adapter "legal" was trained on "mistral-7b-instruct-v0.3", but the stack serves "qwen2.5-7b-instruct"');
    expect(issues[1]?.message).toBe("rank 1024 is above vllm's limit of 512");
  });

  it("refuses a tier whose credential key is missing, and one stored in plain text", () => {
    const missing = errorsOf(validValues(), ["sshPrivateKey"]).filter((i) => i.path.includes("api_key_secret") || i.path.endsWith("togetherApiKey"));
    expect(missing).toHaveLength(1);
    expect(missing[0]?.path).toBe("hybrid-inference:togetherApiKey");
    expect(missing[0]?.message).toBe("the Together AI API key is stored in plain text");

    const values = validValues();
    delete values["togetherApiKey"];
    const [absent] = errorsOf(values, ["sshPrivateKey"]);
    expect(absent?.path).toBe("hybrid-inference:router.managed.api_key_secret");
    expect(absent?.message).toContain('names the config key "togetherApiKey"');
    expect(absent?.fix).toBe("run: pulumi config set --secret togetherApiKey <value>");
  });

  it("refuses duplicate host names, malformed addresses and a non-UK datacenter under uk residency", () => {
    const issues = errorsOf(withValues({
      hosts: [
        { name: "gpu-1", address: "203.0.113.10", datacenter: "uk-london", gpu: "rtx-4090" },
        { name: "gpu-1", address: "203.0.113.11", datacenter: "de-frankfurt", gpu: "rtx-4090" },
        { name: "gpu-3", address: "not an address!", datacenter: "uk-london", gpu: "rtx-4090" },
      ],
    }));
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(byPath["hybrid-inference:hosts[1].name"]).toBe('duplicate host name "gpu-1" (also hosts[0])');
    expect(byPath["hybrid-inference:hosts[1].datacenter"]).toBe('datacenter "de-frankfurt" is outside the UK, but residency is uk');
    expect(byPath["hybrid-inference:hosts[2].address"]).toBe("must be an IPv4/IPv6 address or a DNS host name (letters, digits, '-' and '.')");
  });

  it("refuses an IPv4 address with an octet above 255 and a CIDR with host bits, naming the network to write", () => {
    const issues = errorsOf(withValues({
      hosts: [{ name: "gpu-1", address: "203.0.113.300", datacenter: "uk-london", gpu: "rtx-4090" }],
      access: { admin_cidrs: ["198.51.100.7/24"] },
    }));
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
    expect(byPath["hybrid-inference:hosts[0].address"]?.message).toBe('is not an IPv4 address: "300" is not a number from 0 to 255');
    expect(byPath["hybrid-inference:access.admin_cidrs[0]"]?.message).toBe("has host bits set after /24: the network is 198.51.100.0/24");
    expect(byPath["hybrid-inference:access.admin_cidrs[0]"]?.fix).toMatch(/^write the network address of the block/);
  });

  it("refuses a multi-host docker stack whose router host has only a DNS name, since the engines' firewalls admit it by IP", () => {
    const issues = errorsOf(withValues({
      hosts: [
        { name: "gpu-1", address: "gpu-1.example.co.uk", datacenter: "uk-london", gpu: "rtx-4090" },
        { name: "gpu-2", address: "203.0.113.11", datacenter: "uk-london", gpu: "rtx-4090" },
      ],
    }));
    const issue = issues.find((i) => i.path === "hybrid-inference:hosts[0].private_address");
    expect(issue?.message).toBe('the router runs on "gpu-1", and the other hosts\' firewalls admit it by IP address, but it has only the DNS name gpu-1.example.co.uk');
    expect(issue?.fix).toMatch(/set private_address to the router host's IP/);
  });

  it("accepts the default served model name written out, dots and all", () => {
    expect(errorsOf(withValues({ model: { id: "qwen2.5-7b-instruct", served_model_name: "qwen2.5-7b-instruct" } }))).toEqual([]);
  });

  it("reports every problem at once, across keys", () => {
    const issues = errorsOf(withValues({
      environment: "production",
      hosts: [{ name: "gpu-1", address: "203.0.113.10", datacenter: "uk-london", gpu: "rtx-9090" }],
      router: { allowed_cidrs: ["everyone"] },
    }));
    expect(issues.map((i) => i.path).sort()).toEqual([
      "hybrid-inference:environment",
      "hybrid-inference:hosts[0].gpu",
      "hybrid-inference:router.allowed_cidrs[0]",
    ]);
    expect(issues.find((i) => i.path === "hybrid-inference:environment")?.fix).toBe("use one of: dev, staging, prod");
  });

  it("rejects a misspelt key instead of ignoring it, and names the key it meant", () => {
    const [issue] = errorsOf(withValues({ model: { id: "qwen2.5-7b-instruct", max_model_length: 8192 } }));
    expect(issue?.path).toBe("hybrid-inference:model.max_model_length");
    expect(issue?.message).toBe('is not a known key; did you mean "max_model_len"?');
    expect(issue?.fix).toBe("rename it to max_model_len");
  });

  it("makes a prod stack without frontier fallback an error, unless explicitly accepted", () => {
    const prod = withValues({ environment: "prod" });
    const [issue] = errorsOf(prod);
    expect(issue?.path).toBe("hybrid-inference:router.frontier");
    expect(issue?.fix).toContain("router.allow_no_frontier: true");

    const accepted = withValues({ environment: "prod", router: { ...(validValues()["router"] as object), allow_no_frontier: true } });
    const result = validateStackConfig(rawConfig(accepted));
    expect(result.issues.filter((i) => i.severity === "error")).toEqual([]);
    expect(result.issues.some((i) => i.severity === "warning" && i.path === "hybrid-inference:router.frontier")).toBe(true);
  });

  it("requires a Hugging Face token for a gated model", () => {
    const [issue] = errorsOf(withValues({
      model: { id: "llama-3.3-70b-instruct", quantization: "awq" },
      router: { allowed_cidrs: ["198.51.100.0/24"] },
    }));
    expect(issue?.path).toBe("hybrid-inference:access.hf_token_secret");
    expect(issue?.message).toContain("is gated on Hugging Face");
  });

  it("reads secure values from a stack file as opaque secrets", () => {
    const raw = parseStackYaml("config:\n  hybrid-inference:environment: dev\n  hybrid-inference:apiKey:\n    secure: v1:abc\n  aws:region: eu-west-2\n", "dev");
    expect(raw.values).toEqual({ environment: "dev", apiKey: "[secret]" });
    expect([...raw.secretKeys]).toEqual(["apiKey"]);
  });

  it("explains a model that does not fit, with the numbers and configurations that would", () => {
    const { plan, issues } = loadPlan(rawConfig(withValues({
      model: { id: "llama-3.3-70b-instruct", quantization: "auto" },
      router: { allowed_cidrs: ["198.51.100.0/24"] },
      access: { admin_cidrs: ["198.51.100.0/24"], hf_token_secret: "hfToken" },
      hfToken: "[secret]",
    }), ["sshPrivateKey", "togetherApiKey", "hfToken"]));
    expect(plan).toBeUndefined();
    const issue = issues.find((i) => i.path === "hybrid-inference:hosts[0]");
    expect(issue?.message).toMatch(/^llama-3.3-70b-instruct does not fit host "gpu-1": /);
    // The numbers: what the smallest format needs per card against what one 4090 gives.
    expect(issue?.message).toMatch(/gptq: llama-3\.3-70b-instruct \(gptq\) needs \d+\.\d GiB on one rtx-4090 .* but a card gives 21\.6 GiB \(24 GiB x gpu_memory_utilization 0\.9\)/);
    // Ways out: more of the same card, a larger card, a smaller model of the family.
    expect(issue?.fix).toMatch(/^configurations that fit: 2x rtx-4090 with llama-3.3-70b-instruct (awq|gptq)/);
    expect(formatIssues(issues)).toContain("fix: configurations that fit:");
  });

  it("refuses half a provided TLS certificate, and warns that ACME needs a public router", () => {
    const router = (tls: object, cidrs = ["198.51.100.0/24"]) => withValues({ router: { allowed_cidrs: cidrs, tls } });
    const [half] = errorsOf(router({ domain: "inference.example.co.uk", certificate_secret: "tlsCert" }));
    expect(half?.path).toBe("hybrid-inference:router.tls");
    expect(half?.message).toBe("has only one of certificate_secret and private_key_secret");
    const acme = validateStackConfig(rawConfig(router({ domain: "inference.example.co.uk" }))).issues;
    expect(acme.find((i) => i.path === "hybrid-inference:router.allowed_cidrs")?.message).toContain("automatic certificates need ports 80/443 reachable");
    const [bad] = errorsOf(router({ domain: "localhost" }));
    expect(bad?.path).toBe("hybrid-inference:router.tls.domain");
  });

  describe("did you mean", () => {
    it.each<[string, Record<string, unknown>, string, string]>([
      ["a top-level key", (() => { const v = withValues({ hostz: validValues()["hosts"] }); delete v["hosts"]; return v; })(),
        "hybrid-inference:hostz", "is not a setting; did you mean hybrid-inference:hosts?"],
      ["a key of a map", withValues({ engine: { max_num_seq: 64 } }), "hybrid-inference:engine.max_num_seq", 'is not a known key; did you mean "max_num_seqs"?'],
      ["a key of a list element", withValues({ hosts: [{ name: "gpu-1", adress: "203.0.113.10", datacenter: "uk-london", gpu: "rtx-4090" }] }),
        "hybrid-inference:hosts[0].adress", 'is not a known key; did you mean "address"?'],
      ["a key two maps deep", withValues({ router: { allowed_cidrs: ["198.51.100.0/24"], managed: { provider: "together_ai", api_key_secrett: "togetherApiKey" } } }),
        "hybrid-inference:router.managed.api_key_secrett", 'is not a known key; did you mean "api_key_secret"?'],
      ["a key of one variant of a union", withValues({ target: "kubernetes", hosts: [{ name: "gpu-1", address: "10.0.0.1", datacenter: "uk-london", gpu: "rtx-4090" }],
        kubernetes: { model_cache: { type: "empty_dir", size_limit_gib: 40 } } }),
        "hybrid-inference:kubernetes.model_cache.size_limit_gib", 'is not a known key; did you mean "size_limit_gb"?'],
      ["a value of a fixed set", withValues({ model: { id: "qwen2.5-7b-instruct", quantization: "awq4" } }),
        "hybrid-inference:model.quantization", 'is "awq4", which is not allowed; did you mean "awq"?'],
    ])("for %s", (_label, values, path, message) => {
      const issues = errorsOf(values);
      expect(issues.find((i) => i.path === path)?.message).toBe(message);
      // The slip is one problem: the key it meant is not also reported missing.
      expect(issues.filter((i) => i.message === "is required" || i.message === "is missing")).toEqual([]);
    });

    it("lists the known keys when nothing is near", () => {
      const [issue] = errorsOf(withValues({ traffic: { qps: 3 } }));
      expect(issue?.path).toBe("hybrid-inference:traffic.qps");
      expect(issue?.fix).toBe('remove it, or use one of: avg_input_tokens, avg_output_tokens, utilisation, tokens_per_month (see README, "Stack file reference")');
    });

    it("warns about (and ignores) a top-level key that is neither a setting nor a secret a setting names", () => {
      const issues = validateStackConfig(rawConfig(withValues({ team: "platform" }))).issues;
      expect(issues.find((i) => i.path === "hybrid-inference:team")).toMatchObject({ severity: "warning", message: expect.stringContaining("it is ignored") });
    });

    it("names the secret a misspelt *_secret field most likely meant", () => {
      const values = withValues({ router: { allowed_cidrs: ["198.51.100.0/24"], managed: { provider: "together_ai", api_key_secret: "togetherApiKy" } } });
      const [issue] = errorsOf(values);
      expect(issue?.path).toBe("hybrid-inference:router.managed.api_key_secret");
      expect(issue?.message).toContain('it has the secret hybrid-inference:togetherApiKey: did you mean "togetherApiKey"?');
    });
  });

  describe("wrong types", () => {
    it.each<[string, unknown, string, string]>([
      ["a word for a number", "sixty-four", 'must be a number, got the text "sixty-four"', "write it as a number"],
      ["a quoted number", "64", 'must be a number, got the text "64"', "write 64 without quotes: quoted, YAML reads it as text"],
      ["a list for a number", [64], "must be a number, got a list", "write it as a number"],
      ["an empty value", null, "must be a number, got null (an empty value)", "write it as a number"],
    ])("says what was expected and what was found for %s", (_label, value, message, fix) => {
      const [issue] = errorsOf(withValues({ engine: { max_num_seqs: value } }));
      expect(issue).toMatchObject({ path: "hybrid-inference:engine.max_num_seqs", message, fix });
    });

    it("says which types a key of several forms takes (driver.refresh: a label or a number)", () => {
      expect(errorsOf(withValues({ driver: { refresh: true } }))[0]).toMatchObject({
        path: "hybrid-inference:driver.refresh", message: "must be a string or a number, got boolean true", fix: "write it as a string or a number" });
      expect(errorsOf(withValues({ driver: { refresh: "next week" } }))[0]).toMatchObject({
        path: "hybrid-inference:driver.refresh", message: "must be 1-64 letters, digits and ._:- such as 2026-12-01" });
    });

    it("asks for true or false, and for a list where a list belongs", () => {
      expect(errorsOf(withValues({ engine: { enable_prefix_caching: "yes" } }))[0]).toMatchObject({ message: 'must be a boolean, got the text "yes"', fix: "write true or false" });
      expect(errorsOf(withValues({ router: { allowed_cidrs: "198.51.100.0/24" } }))[0]).toMatchObject({
        path: "hybrid-inference:router.allowed_cidrs", message: 'must be a list, got the text "198.51.100.0/24"', fix: "write it as a list, e.g. [a, b] or one `- item` per line" });
    });
  });

  describe("every independent problem in one run", () => {
    const bigModel = { model: { id: "llama-3.3-70b-instruct" }, router: { allowed_cidrs: ["198.51.100.0/24"] } };

    it("reports a 70B model on one small card without hf_token_secret: the token and the fit", () => {
      const { plan, issues } = loadPlan(rawConfig(withValues(bigModel)));
      expect(plan).toBeUndefined();
      const paths = issues.filter((i) => i.severity === "error").map((i) => i.path);
      expect(paths).toEqual(["hybrid-inference:access.hf_token_secret", "hybrid-inference:hosts[0]"]);
      expect(issues.find((i) => i.path === "hybrid-inference:hosts[0]")?.message).toMatch(/^llama-3\.3-70b-instruct does not fit host "gpu-1": /);
    });

    it("checks the fit even when an unrelated key is missing or has the wrong type", () => {
      const noRouter = withValues(bigModel);
      delete noRouter["router"];
      const badAccess = withValues({ ...bigModel, access: { admin_cidrs: "198.51.100.0/24" } });
      const badTraffic = withValues({ ...bigModel, traffic: { utilisation: "half" } });
      for (const values of [noRouter, badAccess, badTraffic]) {
        const errors = loadPlan(rawConfig(values)).issues.filter((i) => i.severity === "error").map((i) => i.path);
        expect(errors).toContain("hybrid-inference:hosts[0]");
      }
    });

    it("does not guess a fit when a key the fit depends on is broken, nor report what the stand-ins planned", () => {
      const badEngine = withValues({ ...bigModel, engine: { gpu_memory_utilization: "0.95" } });
      expect(loadPlan(rawConfig(badEngine)).issues.map((i) => i.path)).not.toContain("hybrid-inference:hosts[0]");
      const unknownGpu = withValues({ ...bigModel, hosts: [{ name: "gpu-1", address: "203.0.113.10", datacenter: "uk-london", gpu: "rtx-4090ti" }] });
      expect(loadPlan(rawConfig(unknownGpu)).issues.map((i) => i.path)).not.toContain("hybrid-inference:hosts[0]");
      // A fitting stack with a broken router: the fit passes, and nothing about the stand-in router (its SLO) is said.
      const fits = withValues({ router: { allowed_cidrs: "everyone" } });
      const issues = loadPlan(rawConfig(fits)).issues;
      expect(issues.filter((i) => i.severity === "error").map((i) => i.path)).toEqual(["hybrid-inference:router.allowed_cidrs"]);
      expect(issues.some((i) => i.path.startsWith("hybrid-inference:router.") && i.path !== "hybrid-inference:router.allowed_cidrs")).toBe(false);
    });
  });

  describe("ports", () => {
    it("refuses an SSH port the router host also publishes (found by the validates => renders property)", () => {
      const host = { name: "gpu-1", address: "203.0.113.10", datacenter: "uk-london", gpu: "rtx-4090" };
      const [tls] = errorsOf(withValues({ hosts: [{ ...host, ssh_port: 443 }], router: { allowed_cidrs: ["0.0.0.0/0"], tls: { domain: "inference.example.co.uk" } } }));
      expect(tls).toMatchObject({ path: "hybrid-inference:hosts[0].ssh_port", message: "443 is also a port the router host publishes (the TLS edge's 80 and 443)" });
      const [plain] = errorsOf(withValues({ hosts: [{ ...host, ssh_port: 4000 }] }));
      expect(plain).toMatchObject({ path: "hybrid-inference:hosts[0].ssh_port", message: "4000 is also a port the router host publishes (router.port)" });
      const second = { name: "gpu-2", address: "203.0.113.11", datacenter: "uk-london", gpu: "rtx-4090", ssh_port: 8000 };
      const [engine] = errorsOf(withValues({ hosts: [host, second] }));
      expect(engine).toMatchObject({ path: "hybrid-inference:hosts[1].ssh_port", message: "8000 is also engine.port, which this host publishes for the router host" });
    });
  });
});

