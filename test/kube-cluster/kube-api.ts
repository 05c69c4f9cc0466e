/**
 * A small client for the test cluster's API server: JSON requests and watches over HTTPS with
 * the harness's CA and a bearer token. Only loopback servers are accepted.
 */
import https from "node:https";

export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly body: T;
}

/** What the API server answers on failure (`kind: Status`). */
export interface ApiStatus {
  readonly kind?: string;
  readonly status?: string;
  readonly message?: string;
  readonly reason?: string;
  readonly code?: number;
}

export interface WatchEvent<T> {
  readonly type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  readonly object: T;
}

export interface Watch {
  stop(): void;
  /** Settles when the stream ends (stop(), server close) or fails. */
  readonly done: Promise<void>;
}

export class ApiError extends Error {
  constructor(readonly method: string, readonly path: string, readonly status: number, readonly body: unknown) {
    super(`${method} ${path}: HTTP ${status}: ${typeof body === "string" ? body : ((body as ApiStatus)?.message ?? JSON.stringify(body))}`);
    this.name = "ApiError";
  }
}

export class KubeApi {
  private readonly url: URL;
  private readonly agent: https.Agent;

  constructor(server: string, private readonly caPem: string, private readonly token: string) {
    this.url = new URL(server);
    if (!/^127\.\d+\.\d+\.\d+$/.test(this.url.hostname)) throw new Error(`the test cluster's API server must be on loopback, not ${server}`);
    this.agent = new https.Agent({ keepAlive: true, ca: caPem });
  }

  /** One request; the body is JSON-encoded unless it is a string. Never throws on HTTP status. */
  request<T = unknown>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<ApiResponse<T>> {
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request({
        host: this.url.hostname, port: this.url.port, path, method, agent: this.agent, ca: this.caPem,
        headers: {
          authorization: `Bearer ${this.token}`, accept: "application/json",
          ...(payload !== undefined ? { "content-type": contentType, "content-length": Buffer.byteLength(payload) } : {}),
        },
        timeout: 30_000,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = text;
          try {
            parsed = text.length > 0 ? JSON.parse(text) : undefined;
          } catch {
            // Plain-text answers (/readyz) stay text.
          }
          resolve({ status: res.statusCode ?? 0, body: parsed as T });
        });
        res.on("error", reject);
      });
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer within 30 s`)));
      req.on("error", reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** GET, throwing ApiError unless 2xx. */
  async get<T>(path: string): Promise<T> {
    const r = await this.request<T>("GET", path);
    if (r.status < 200 || r.status >= 300) throw new ApiError("GET", path, r.status, r.body);
    return r.body;
  }

  /** Any method, throwing ApiError unless 2xx. */
  async must<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const r = await this.request<T>(method, path, body, contentType);
    if (r.status < 200 || r.status >= 300) throw new ApiError(method, path, r.status, r.body);
    return r.body;
  }

  /**
   * Watches a collection (`path` without `?watch`), from `resourceVersion` on; `onEvent` sees
   * every event in order. The stream is newline-delimited JSON.
   */
  watch<T>(path: string, resourceVersion: string, onEvent: (e: WatchEvent<T>) => void): Watch {
    const sep = path.includes("?") ? "&" : "?";
    const full = `${path}${sep}watch=1&allowWatchBookmarks=false&resourceVersion=${encodeURIComponent(resourceVersion)}`;
    let req: ReturnType<typeof https.request> | undefined;
    const done = new Promise<void>((resolve, reject) => {
      req = https.request({
        host: this.url.hostname, port: this.url.port, path: full, method: "GET", ca: this.caPem,
        headers: { authorization: `Bearer ${this.token}`, accept: "application/json" },
      }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`watch ${path}: HTTP ${res.statusCode}`));
          return;
        }
        let buffered = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffered += chunk;
          let nl: number;
          while ((nl = buffered.indexOf("\n")) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (line.length > 0) onEvent(JSON.parse(line) as WatchEvent<T>);
          }
        });
        res.on("end", resolve);
        res.on("close", resolve);
        res.on("error", () => resolve());
      });
      req.on("error", (e) => ((e as NodeJS.ErrnoException).code === "ECONNRESET" ? resolve() : reject(e)));
      req.end();
    });
    return { stop: () => req?.destroy(), done };
  }

  close(): void {
    this.agent.destroy();
  }
}
