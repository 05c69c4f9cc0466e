/**
 * Residency: under `residency: uk`, every GPU host is in a UK datacenter (`uk-<site>` or
 * `gb-<site>`, as core/config/schema.ts defines datacenters).
 *
 * No resource carries a host's datacenter: the SSH connection and the Docker provider only
 * have addresses. So this rule reads the `hybrid:index:HybridInference` (or `hybrid:k8s:...`) component's inputs,
 * in this shape (what the component should pass as the `args` of its `super(...)` call):
 *
 *   { environment: "prod", residency: "uk",
 *     hosts: [{ name: "prod-gpu-1", address: "203.0.113.31", datacenter: "uk-london" }, ...] }
 *
 * Until it does, the rule reports itself not applicable (with the reason) rather than pass.
 */
import { type ResourceView, type RuleResult, type Violation, asArray, asRecord, asString, isHybridComponent, isUnknown } from "../view";

/** Two-letter country codes of each residency's datacenters. */
export const RESIDENCY_COUNTRIES: Readonly<Record<string, readonly string[]>> = {
  uk: ["uk", "gb"],
};

export const RESIDENCY_NOT_EXPOSED =
  "the HybridInference component does not expose its hosts' datacenters: pass { environment, residency, hosts: [{ name, address, datacenter }] } as its inputs";

export function checkResidency(r: ResourceView): RuleResult {
  if (!isHybridComponent(r.type)) return [];
  const rawResidency = r.props["residency"];
  const rawHosts = r.props["hosts"];
  if (rawResidency === undefined && rawHosts === undefined) return { notApplicable: RESIDENCY_NOT_EXPOSED };
  if (isUnknown(rawResidency) || isUnknown(rawHosts)) return { notApplicable: "residency or hosts unknown until the update" };

  // The stack file's default residency is uk.
  const residency = rawResidency === undefined ? "uk" : asString(rawResidency);
  if (residency === "none") return [];
  const countries = residency === undefined ? undefined : RESIDENCY_COUNTRIES[residency];
  if (residency === undefined || countries === undefined) {
    return [{ message: `unknown residency ${JSON.stringify(residency ?? rawResidency)}: expected ${[...Object.keys(RESIDENCY_COUNTRIES), "none"].join(" or ")}` }];
  }
  const hosts = asArray(rawHosts);
  if (hosts === undefined) return [{ message: `residency is ${residency}, but the HybridInference component lists no hosts to check` }];

  const violations: Violation[] = [];
  hosts.forEach((h, i) => {
    const host = asRecord(h);
    const name = asString(host?.["name"]) ?? `hosts[${i}]`;
    const datacenter = asString(host?.["datacenter"]);
    if (datacenter === undefined) {
      violations.push({ message: `host "${name}" has no datacenter, so it cannot be shown to be in the ${residency.toUpperCase()}` });
      return;
    }
    const country = datacenter.split("-")[0] ?? "";
    if (!countries.includes(country)) {
      violations.push({
        message: `host "${name}" is in datacenter "${datacenter}", outside the ${residency.toUpperCase()}, but residency is ${residency}: ` +
          `move it to a ${countries.map((c) => `${c}-<site>`).join(" or ")} datacenter, or set residency: none if data may leave the ${residency.toUpperCase()}`,
      });
    }
  });
  return violations;
}
