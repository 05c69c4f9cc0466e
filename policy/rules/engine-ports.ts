/**
 * No engine port reachable from outside: vLLM's `--api-key` protects `/v1/...` only, while
 * `/health` and `/metrics` stay open (vLLM docs, "OpenAI-compatible server"), so an engine
 * may publish a port only on a private address (RFC 1918, IPv6 ULA) or loopback, the way a
 * router on another host reaches it over the provider's private network.
 *
 * Docker target: an engine container (policy/view.ts `isEngineContainer`) publishes no port
 * on 0.0.0.0 or a public address, and does not use host networking.
 * Kubernetes target: an engine Service is ClusterIP (no NodePort, LoadBalancer or
 * externalIPs); an engine pod uses no host network and no hostPort outside a private hostIP.
 */
import { K8S_SERVICE_TYPE, containersOf, isK8sEngine, isWorkload, k8sName, podSpecOf } from "../kubernetes";
import { type ResourceView, type RuleResult, type Violation, asArray, asRecord, asString, containerName, isEngineContainer, isUnknown, unwrap } from "../view";
import { addressKind } from "./addresses";

const FIX = "bind it to a private address (RFC 1918 or IPv6 ULA) or publish nothing";

/** Why publishing on `ip` exposes the engine; undefined when the address is private. */
function exposure(ip: string): string | undefined {
  const kind = addressKind(ip);
  switch (kind) {
    case "private":
    case "loopback":
      return undefined;
    case "unspecified":
      return "on every interface (0.0.0.0): an engine must be reachable only through the router; publish nothing, or bind it to a private address (RFC 1918 or IPv6 ULA)";
    case "public":
      return `on public address ${ip}: ${FIX}`;
    case "invalid":
      return `on "${ip}", which is not an IP address: ${FIX}`;
    default: {
      const unreachable: never = kind;
      throw new Error(`unhandled address kind ${String(unreachable)}`);
    }
  }
}

function checkDockerEngine(r: ResourceView): Violation[] {
  const name = containerName(r);
  const violations: Violation[] = [];
  if (asString(r.props["networkMode"]) === "host") {
    violations.push({ message: `engine container "${name}" uses host networking, which exposes its port on every interface of the host: use the private Docker network and let the router reach it` });
  }
  for (const p of asArray(r.props["ports"]) ?? []) {
    const port = asRecord(p);
    if (!port || isUnknown(port["ip"])) continue;
    const problem = exposure(asString(port["ip"]) ?? "");
    if (problem) violations.push({ message: `engine container "${name}" publishes port ${String(port["external"] ?? "?")}->${String(port["internal"] ?? "?")} ${problem}` });
  }
  return violations;
}

function checkK8sEngineService(r: ResourceView): Violation[] {
  const spec = asRecord(r.props["spec"]);
  const name = k8sName(r);
  const violations: Violation[] = [];
  const type = asString(spec?.["type"]) ?? "ClusterIP";
  if (type === "NodePort" || type === "LoadBalancer") {
    violations.push({ message: `engine Service "${name}" is of type ${type}, which exposes the engine outside the cluster: use ClusterIP and let the router reach it` });
  }
  if ((asArray(spec?.["externalIPs"]) ?? []).length > 0) {
    violations.push({ message: `engine Service "${name}" has externalIPs, which expose the engine outside the cluster: remove them` });
  }
  return violations;
}

function checkK8sEngineWorkload(r: ResourceView): Violation[] {
  const name = k8sName(r);
  const violations: Violation[] = [];
  if (unwrap(podSpecOf(r)?.["hostNetwork"]).value === true) {
    violations.push({ message: `engine workload "${name}" uses the host network, which exposes its port on every interface of the node: remove hostNetwork` });
  }
  for (const c of containersOf(r)) {
    for (const p of asArray(c.fields["ports"]) ?? []) {
      const port = asRecord(p);
      const hostPort = port?.["hostPort"];
      if (!port || hostPort === undefined || isUnknown(hostPort) || isUnknown(port["hostIP"])) continue;
      const problem = exposure(asString(port["hostIP"]) ?? "");
      if (problem) violations.push({ message: `engine workload "${name}": container "${c.name}" publishes hostPort ${String(unwrap(hostPort).value)} ${problem}` });
    }
  }
  return violations;
}

export function checkEnginePorts(r: ResourceView): RuleResult {
  if (isEngineContainer(r)) return checkDockerEngine(r);
  if (!isK8sEngine(r)) return [];
  if (r.type === K8S_SERVICE_TYPE) return checkK8sEngineService(r);
  if (isWorkload(r)) return checkK8sEngineWorkload(r);
  return [];
}
