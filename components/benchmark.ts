import * as pulumi from "@pulumi/pulumi";
import { type BenchmarkFile, type HostBenchmark, benchmarkCommand, benchmarkStdin, parseBenchmarkOutput } from "../core/render/benchmark";
import { type Connection, remoteStep } from "./remote-step";

export interface EngineBenchmarkArgs {
  /** One host's benchmark step, from `benchmarkSteps(plan)` (core/render/benchmark.ts). */
  readonly benchmark: HostBenchmark;
  /** The host's SSH connection (`GpuHost.connection`). */
  readonly connection: Connection;
  /** The engine's API key, a Pulumi secret (`DeploymentSecrets.engineKey`). */
  readonly engineKey: pulumi.Output<string>;
}

/**
 * vLLM's own benchmark against a host's running engine, after it is deployed (docker target).
 * Runs again when the engine's image or arguments, the request shape or the levels change (they
 * are all in the step's hash); otherwise a re-deploy leaves it alone.
 */
export class EngineBenchmark extends pulumi.ComponentResource {
  /**
   * The benchmark file (`vllm bench serve` results and the engine's start-up lines), for the
   * `measuredCapacity` stack output and `npm run calibrate --from`; undefined until the step has
   * run (preview). Plain: the key never reaches the step's output.
   */
  public readonly result: pulumi.Output<BenchmarkFile | undefined>;

  constructor(name: string, args: EngineBenchmarkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hybrid:engine:EngineBenchmark", name, {}, opts);
    const { step } = args.benchmark;
    const run = remoteStep(`${name}-run`, {
      step,
      connection: args.connection,
      // The key is the first line of stdin, never on the command line (core/render/benchmark.ts).
      create: benchmarkCommand(step),
      stdin: pulumi.secret(args.engineKey.apply((key) => benchmarkStdin(step, key))),
    }, { parent: this });
    // stdout is secret because stdin is; the script prints vLLM's results and KV cache lines only.
    this.result = pulumi.unsecret(run.stdout.apply(parseBenchmarkOutput));
    this.registerOutputs({ result: this.result });
  }
}
