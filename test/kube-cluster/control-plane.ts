/**
 * A real Kubernetes control plane on loopback for tests: etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler and kwok (simulated nodes), built by
 * scripts/build-kube.sh.
 *
 * - Every process listens on 127.0.0.1 only, on free ports, and keeps its state in a temp
 *   directory of its own (etcd's data on /dev/shm when there is one: fsync on a shared disk
 *   makes etcd, and so every API call, slow). Nothing here reaches any other address: the
 *   nodes are API objects kwok keeps alive, not machines; the pod IPs kwok writes into pod
 *   status (10.244.0.0/16) and the Service IPs (10.96.0.0/16) are data nobody connects to.
 * - The API server serves TLS with a certificate the harness makes (openssl; a CA and a serving
 *   certificate for IP 127.0.0.1), authenticates bearer tokens from a token file, authorizes
 *   with RBAC, and signs service-account tokens with a key pair made here.
 * - Identities: the controller manager and the scheduler as their own users (bound by the
 *   default RBAC policy), kwok as a member of system:masters (it stands in for every kubelet),
 *   and `hybrid-inference-admin`, bound to `cluster-admin` by a ClusterRoleBinding: the user of
 *   the kubeconfig the tests hand over as the stack's secret.
 * - Teardown: each process runs in its own process group and is stopped with SIGTERM then
 *   SIGKILL to the group. Each also gets PR_SET_PDEATHSIG (util-linux `setpriv --pdeathsig`),
 *   so it dies with the test process even when that is killed outright, and an exit hook kills
 *   what is left. Temp directories of test processes that died are removed by the next start.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import https from "node:https";
import { KubeApi } from "./kube-api";
import type { KubeTools } from "./tools";

const LOOPBACK = "127.0.0.1";
const DIR_PREFIX = "hi-kube-";
/** Pod IPs kwok assigns (status only) and the Service range; neither is ever connected to. */
const POD_CIDR = "10.244.0.0/16";
const SERVICE_CIDR = "10.96.0.0/16";
/**
 * Streaming lists ("watch-list": a watch with sendInitialEvents=true) need the API server's
 * RequestWatchProgress storage feature, which it turns off on Debian's etcd 3.4.23 (it asks for
 * 3.4.31 or 3.5.13: k8s.io/apiserver storage/feature/feature_support_checker.go), answering
 * such watches with an error. With its WatchList feature gate on (the default), the server also
 * turns every watch from resourceVersion "0" into one (meta/internalversion/defaults.go), and
 * kwok v0.8.0 watches from "0": each of its watches then fails at once, it falls back to a
 * LIST with a growing back-off, and reacts to a new or deleted pod 10 to 40 s late, and to its
 * own node leases late enough for the controller manager to call the nodes NotReady under load.
 * So the gate is off in the API server, and client-go's own streaming lists (WatchListClient,
 * client-go features/envvar.go) off in every component, which spares them a failed attempt per
 * informer. A cluster on etcd >= 3.5.13 needs neither.
 */
const CLIENT_FEATURES = { KUBE_FEATURE_WatchListClient: "false" };
/** Annotation that puts a node under kwok's management. */
export const KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node";
export const ADMIN_USER = "hybrid-inference-admin";

/**
 * GET from a component's own self-signed endpoint on loopback (the controller manager and the
 * scheduler make their serving certificate at start); only their "ok" is read.
 */
function selfSignedGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { rejectUnauthorized: false, timeout: 2_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve(body.trim()));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

export type Component = "etcd" | "kube-apiserver" | "kube-controller-manager" | "kube-scheduler" | "kwok";

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ControlPlane {
  /** `https://127.0.0.1:<port>`. */
  readonly server: string;
  readonly caPem: string;
  /** A kubeconfig (YAML) for the cluster-admin user, as a user would store it as the stack's secret. */
  readonly kubeconfig: string;
  /** The API as that user. */
  readonly api: KubeApi;
  readonly dir: string;
  readonly tools: KubeTools;
  /** kubectl with the given kubeconfig file (default: the admin kubeconfig above), HOME in the temp dir. */
  kubectl(args: readonly string[], opts?: { input?: string; kubeconfigFile?: string }): Promise<KubectlResult>;
  /** The last lines of a component's log (for failure messages). */
  logTail(component: Component, lines?: number): string;
  stop(): Promise<void>;
}

/** Processes of every control plane in this process, killed by the exit hook. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const child of live) killGroup(child, "SIGKILL");
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes temp directories left by test processes that no longer exist (`hi-kube-<pid>-…`). */
function sweepStaleDirs(parents: readonly string[]): void {
  for (const parent of parents) {
    let entries: string[] = [];
    try {
      entries = readdirSync(parent);
    } catch {
      continue;
    }
    for (const e of entries) {
      const m = new RegExp(`^${DIR_PREFIX}(\\d+)-`).exec(e);
      if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) rmSync(path.join(parent, e), { recursive: true, force: true });
    }
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, LOOPBACK, () => {
      const a = srv.address();
      const port = typeof a === "object" && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns true; throws with `describe()` when `timeoutMs` runs out. */
export async function waitFor(what: string, probe: () => Promise<boolean> | boolean, timeoutMs: number, describe: () => string = () => "", intervalMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (e) {
      last = e;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}\n${describe()}`);
}

function openssl(args: readonly string[], cwd: string): void {
  const r = spawnSync("openssl", args, { cwd, encoding: "utf8" });
  if (r.error) throw new Error(`openssl is needed for the test cluster's certificates: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${r.stderr}`);
}

/** A CA, a serving certificate for 127.0.0.1 signed by it, and the service-account key pair. */
function makeCertificates(pki: string): void {
  mkdirSync(pki, { recursive: true });
  const days = "2";
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"], pki);
  openssl(["req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", days, "-subj", "/CN=hybrid-inference-test-ca", "-out", "ca.crt"], pki);
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "apiserver.key"], pki);
  openssl(["req", "-new", "-key", "apiserver.key", "-subj", "/CN=kube-apiserver", "-out", "apiserver.csr"], pki);
  writeFileSync(path.join(pki, "apiserver.ext"), [
    "basicConstraints=CA:FALSE",
    "keyUsage=digitalSignature,keyEncipherment",
    "extendedKeyUsage=serverAuth",
    `subjectAltName=IP:${LOOPBACK},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc`,
    "",
  ].join("\n"));
  openssl(["x509", "-req", "-in", "apiserver.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-sha256", "-days", days, "-extfile", "apiserver.ext", "-out", "apiserver.crt"], pki);
  openssl(["genrsa", "-out", "sa.key", "2048"], pki);
  openssl(["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"], pki);
}

/** A kubeconfig for `server` with a bearer token. */
export function kubeconfigFor(server: string, caPem: string, user: string, token: string): string {
  const ca = Buffer.from(caPem).toString("base64");
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: hybrid-inference-test",
    "  cluster:",
    `    server: ${server}`,
    `    certificate-authority-data: ${ca}`,
    "users:",
    `- name: ${user}`,
    "  user:",
    `    token: ${token}`,
    "contexts:",
    "- name: hybrid-inference-test",
    "  context:",
    "    cluster: hybrid-inference-test",
    `    user: ${user}`,
    "current-context: hybrid-inference-test",
    "",
  ].join("\n");
}

interface Proc {
  readonly component: Component;
  readonly child: ChildProcess;
  readonly logFile: string;
}

export interface StartOptions {
  readonly tools: KubeTools;
  /** How long the whole start may take (default 180 s: the API server's first start on a loaded 2-core machine). */
  readonly timeoutMs?: number;
}

export async function startControlPlane(opts: StartOptions): Promise<ControlPlane> {
  const { tools } = opts;
  if (tools.missing.length > 0) throw new Error(`the control plane is not built: ${tools.missing.join("; ")}`);
  const timeoutMs = opts.timeoutMs ?? 180_000;
  const started = Date.now();
  const left = (): number => Math.max(1_000, timeoutMs - (Date.now() - started));

  const shm = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  sweepStaleDirs([tmpdir(), shm]);
  const dir = mkdtempSync(path.join(tmpdir(), `${DIR_PREFIX}${process.pid}-`));
  const etcdDir = mkdtempSync(path.join(shm, `${DIR_PREFIX}${process.pid}-etcd-`));
  const procs: Proc[] = [];
  const setpriv = spawnSync("setpriv", ["--help"], { encoding: "utf8" }).stdout?.includes("--pdeathsig") ?? false;
  installExitHook();

  const logTail = (component: Component, lines = 40): string => {
    const file = path.join(dir, "logs", `${component}.log`);
    if (!existsSync(file)) return `(${component}: no log)`;
    return `--- ${component} (last ${lines} lines) ---\n${readFileSync(file, "utf8").split("\n").slice(-lines).join("\n")}`;
  };

  const run = (component: Component, args: readonly string[], env: Record<string, string> = {}): Proc => {
    mkdirSync(path.join(dir, "logs"), { recursive: true });
    const logFile = path.join(dir, "logs", `${component}.log`);
    const fd = openSync(logFile, "a");
    const bin = tools.path(component);
    const [cmd, argv] = setpriv ? ["setpriv", ["--pdeathsig", "KILL", "--", bin, ...args]] : [bin, [...args]];
    // A clean environment: nothing from the test process (proxies, KUBECONFIG) leaks in.
    const child = spawn(cmd, argv, {
      detached: true, stdio: ["ignore", fd, fd], cwd: dir,
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: path.join(dir, "home"), ...CLIENT_FEATURES, ...env },
    });
    closeSync(fd);
    live.add(child);
    child.once("exit", () => live.delete(child));
    const p = { component, child, logFile };
    procs.push(p);
    return p;
  };

  const stop = async (): Promise<void> => {
    // Reverse start order: kwok and the controllers first, etcd last.
    for (const p of [...procs].reverse()) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
      const exited = new Promise((r) => p.child.once("exit", r));
      killGroup(p.child, "SIGTERM");
      const timer = setTimeout(() => killGroup(p.child, "SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    // HI_KUBE_KEEP_LOGS=1: keep the components' logs for a look after the run.
    if (process.env["HI_KUBE_KEEP_LOGS"] === "1" && existsSync(path.join(dir, "logs"))) {
      const kept = `${dir}-logs`;
      cpSync(path.join(dir, "logs"), kept, { recursive: true });
      console.log(`[kube-cluster] component logs kept in ${kept}`);
    }
    rmSync(dir, { recursive: true, force: true });
    rmSync(etcdDir, { recursive: true, force: true });
  };

  const alive = (p: Proc): void => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) {
      throw new Error(`${p.component} exited (${p.child.exitCode ?? p.child.signalCode}):\n${logTail(p.component)}`);
    }
  };

  try {
    mkdirSync(path.join(dir, "home"), { recursive: true });
    const pki = path.join(dir, "pki");
    makeCertificates(pki);
    const caPem = readFileSync(path.join(pki, "ca.crt"), "utf8");

    const token = (): string => randomBytes(24).toString("hex");
    const tokens = { admin: token(), bootstrap: token(), controllerManager: token(), scheduler: token(), kwok: token() };
    // token,user,uid,"group,..." (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#static-token-file)
    writeFileSync(path.join(pki, "tokens.csv"), [
      `${tokens.admin},${ADMIN_USER},${ADMIN_USER}`,
      `${tokens.bootstrap},hybrid-inference-bootstrap,hybrid-inference-bootstrap,"system:masters"`,
      `${tokens.controllerManager},system:kube-controller-manager,system:kube-controller-manager`,
      `${tokens.scheduler},system:kube-scheduler,system:kube-scheduler`,
      `${tokens.kwok},kwok,kwok,"system:masters"`,
      "",
    ].join("\n"), { mode: 0o600 });

    // etcd (Debian's 3.4), client and peer on loopback.
    const [etcdPort, etcdPeerPort, apiPort, cmPort, schedulerPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://${LOOPBACK}:${etcdPort}`;
    const etcd = run("etcd", [
      "--name", "hi-test", "--data-dir", path.join(etcdDir, "data"),
      "--listen-client-urls", etcdUrl, "--advertise-client-urls", etcdUrl,
      "--listen-peer-urls", `http://${LOOPBACK}:${etcdPeerPort}`, "--initial-advertise-peer-urls", `http://${LOOPBACK}:${etcdPeerPort}`,
      "--initial-cluster", `hi-test=http://${LOOPBACK}:${etcdPeerPort}`, "--initial-cluster-state", "new",
      "--logger", "zap", "--log-level", "warn", "--quota-backend-bytes", String(512 * 1024 * 1024),
    ]);
    await waitFor("etcd /health", async () => {
      alive(etcd);
      const r = await fetch(`${etcdUrl}/health`);
      return r.ok && ((await r.json()) as { health?: string }).health === "true";
    }, left(), () => logTail("etcd"));

    const server = `https://${LOOPBACK}:${apiPort}`;
    const apiserver = run("kube-apiserver", [
      `--etcd-servers=${etcdUrl}`,
      `--bind-address=${LOOPBACK}`, `--advertise-address=${LOOPBACK}`, `--secure-port=${apiPort}`,
      `--tls-cert-file=${path.join(pki, "apiserver.crt")}`, `--tls-private-key-file=${path.join(pki, "apiserver.key")}`,
      `--cert-dir=${path.join(dir, "apiserver-certs")}`,
      `--token-auth-file=${path.join(pki, "tokens.csv")}`, "--anonymous-auth=false",
      "--authorization-mode=RBAC",
      "--service-account-issuer=https://kubernetes.default.svc", `--service-account-key-file=${path.join(pki, "sa.pub")}`,
      `--service-account-signing-key-file=${path.join(pki, "sa.key")}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      // No Endpoints for the `kubernetes` Service: they would name 127.0.0.1, which Endpoints may not hold.
      "--endpoint-reconciler-type=none",
      "--feature-gates=WatchList=false",
      "--profiling=false", "--v=1",
    ]);
    const bootstrap = new KubeApi(server, caPem, tokens.bootstrap);
    try {
      await waitFor("kube-apiserver /readyz", async () => {
        alive(apiserver);
        const r = await bootstrap.request<string>("GET", "/readyz");
        return r.status === 200;
      }, left(), () => logTail("kube-apiserver"));

      // The admin user of the kubeconfig the tests hand over: cluster-admin through RBAC.
      await bootstrap.must("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding",
        metadata: { name: `${ADMIN_USER}-cluster-admin` },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: ADMIN_USER }],
      });
    } finally {
      bootstrap.close();
    }

    const writeKubeconfig = (name: string, user: string, tok: string): string => {
      const file = path.join(dir, `${name}.kubeconfig`);
      writeFileSync(file, kubeconfigFor(server, caPem, user, tok), { mode: 0o600 });
      return file;
    };
    const adminKubeconfig = kubeconfigFor(server, caPem, ADMIN_USER, tokens.admin);
    const adminFile = writeKubeconfig("admin", ADMIN_USER, tokens.admin);

    const controllerManager = run("kube-controller-manager", [
      `--kubeconfig=${writeKubeconfig("controller-manager", "system:kube-controller-manager", tokens.controllerManager)}`,
      `--bind-address=${LOOPBACK}`, `--secure-port=${cmPort}`, `--cert-dir=${path.join(dir, "controller-manager-certs")}`,
      "--leader-elect=false", "--use-service-account-credentials=true",
      `--service-account-private-key-file=${path.join(pki, "sa.key")}`, `--root-ca-file=${path.join(pki, "ca.crt")}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      "--profiling=false", "--v=1",
    ]);
    const scheduler = run("kube-scheduler", [
      `--kubeconfig=${writeKubeconfig("scheduler", "system:kube-scheduler", tokens.scheduler)}`,
      `--bind-address=${LOOPBACK}`, `--secure-port=${schedulerPort}`, "--leader-elect=false",
      "--profiling=false", "--v=1",
    ]);
    run("kwok", [
      `--kubeconfig=${writeKubeconfig("kwok", "kwok", tokens.kwok)}`,
      "--manage-all-nodes=false", `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
      "--node-lease-duration-seconds=40", `--cidr=${POD_CIDR}`,
      ...tools.stages.map((s) => `--config=${s}`),
    ]);

    // The controller manager and the scheduler answer /healthz (always allowed, self-signed TLS).
    for (const [p, port] of [[controllerManager, cmPort], [scheduler, schedulerPort]] as const) {
      await waitFor(`${p.component} /healthz`, async () => {
        alive(p);
        return (await selfSignedGet(`https://${LOOPBACK}:${port}/healthz`)) === "ok";
      }, left(), () => logTail(p.component));
    }

    const api = new KubeApi(server, caPem, tokens.admin);
    const kubectl = async (args: readonly string[], o: { input?: string; kubeconfigFile?: string } = {}): Promise<KubectlResult> => {
      return new Promise((resolve) => {
        const child = spawn(tools.path("kubectl"), [`--kubeconfig=${o.kubeconfigFile ?? adminFile}`, ...args], {
          stdio: ["pipe", "pipe", "pipe"],
          env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: path.join(dir, "home") },
        });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (c: Buffer) => out.push(c));
        child.stderr.on("data", (c: Buffer) => err.push(c));
        child.on("close", (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }));
        child.stdin.end(o.input ?? "");
      });
    };
    return {
      server, caPem, kubeconfig: adminKubeconfig, api, dir, tools, kubectl, logTail,
      stop: async () => {
        api.close();
        await stop();
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
