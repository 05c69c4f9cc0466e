import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { type ContainerSpec, LOG_OPTIONS, type SecretSource, imageName } from "../core/render/containers";
import { withLegacyName } from "./remote-step";

/** Resolves a spec's secret env entries to Pulumi secret values. */
export type SecretResolver = (source: SecretSource) => pulumi.Output<string>;

export interface SpecContainerArgs {
  readonly spec: ContainerSpec;
  readonly network: pulumi.Input<string>;
  readonly secrets: SecretResolver;
}

/**
 * One `ContainerSpec` as a pinned `RemoteImage` and a `Container` on the provider the
 * caller passes. Shared by the engine and router components: they differ only in spec.
 */
export function specContainer(name: string, args: SpecContainerArgs, parent: pulumi.Resource, dependsOn: pulumi.Resource[] = [], legacyName?: string): docker.Container {
  const { spec } = args;
  const image = new docker.RemoteImage(`${name}-image`, {
    name: imageName(spec.image),
    // A replaced container must not delete an image another stack or rollback still uses.
    keepLocally: true,
  }, withLegacyName({ parent }, legacyName === undefined ? undefined : `${legacyName}-image`));

  const plainEnv = Object.entries(spec.env).map(([k, v]) => `${k}=${v}`);
  const secretEnv = Object.entries(spec.secretEnv).map(([k, source]) => pulumi.interpolate`${k}=${args.secrets(source)}`);
  const envs = pulumi.secret(pulumi.all([...plainEnv, ...secretEnv]));

  return new docker.Container(name, {
    name: spec.name,
    image: image.imageId,
    command: [...spec.command],
    envs,
    ...(spec.gpus === null ? {} : { gpus: spec.gpus === "all" ? "all" : String(spec.gpus) }),
    ...(spec.shmSizeMb !== undefined ? { shmSize: spec.shmSizeMb } : {}),
    volumes: spec.volumes.map((v) => ({ hostPath: v.hostPath, containerPath: v.containerPath, readOnly: v.readOnly })),
    ports: spec.ports.map((p) => ({ internal: p.internal, external: p.external, ...(p.ip ? { ip: p.ip } : {}) })),
    networksAdvanced: [{ name: args.network, aliases: [spec.name] }],
    healthcheck: {
      tests: [...spec.healthcheck.test],
      interval: spec.healthcheck.interval,
      timeout: spec.healthcheck.timeout,
      retries: spec.healthcheck.retries,
      startPeriod: spec.healthcheck.startPeriod,
    },
    uploads: [
      ...spec.files.map((f) => ({ file: f.path, content: f.content })),
      ...spec.secretFiles.map((f) => ({ file: f.path, content: pulumi.secret(args.secrets(f.source)), permissions: "0600" })),
    ],
    // The engine watchdog (templates/engine/engine-watchdog.sh) finds the containers it tends, and its policy, by these.
    labels: Object.entries(spec.labels).map(([label, value]) => ({ label, value })),
    restart: "unless-stopped",
    logDriver: "json-file",
    logOpts: { ...LOG_OPTIONS },
  }, withLegacyName({
    parent,
    dependsOn,
    // The container name is fixed, so the old one must go before its replacement starts.
    deleteBeforeReplace: true,
  }, legacyName));
}
