/**
 * Engineer time each pattern takes, in hours per month, and what an hour costs.
 *
 * Planning assumptions [estimates], each with its reason:
 *  - self-hosting, fixed 12 h: monthly driver / vLLM / LiteLLM upgrades and security
 *    patches (~4 h), capacity and alert review (~2 h), one incident with its follow-up (~6 h);
 *  - per host 3 h: hardware faults, reboots, disks and provider tickets grow with the fleet;
 *  - per API tier 1 h: keys, spend alerts, model deprecations of each provider used;
 *  - routing 3 h when two or more tiers serve traffic: spill limits, fallback tests, and
 *    three providers' behaviour to keep consistent;
 *  - per fine-tune 1 h self-hosted (evaluate and roll out each adapter's updates, one base
 *    model serves them all) or 2 h on a managed API (upload and keep each adapter in sync at
 *    the provider, within its LoRA limits).
 */
export const OPS_HOURS = {
  selfHostedFixed: 12,
  perHost: 3,
  perApiTier: 1,
  routing: 3,
  perFineTuneSelfHosted: 1,
  perFineTuneManaged: 2,
} as const;

/** A full-time month: 37.5 h/week x 52 weeks / 12 months. */
export const WORKING_HOURS_PER_MONTH = 162.5;

/** Default fully loaded cost of a UK platform engineer (salary ~£80k plus ~30% on-costs), £/month [estimate]. */
export const DEFAULT_ENGINEER_GBP_PER_MONTH = 9000;

export function engineerGbpPerHour(gbpPerMonth: number): number {
  return gbpPerMonth / WORKING_HOURS_PER_MONTH;
}

export interface TiersUsed {
  readonly hosts: number;
  readonly managed: boolean;
  readonly frontier: boolean;
  readonly fineTunes: number;
}

/** Hours per month for whatever mix of tiers serves traffic. */
export function opsHours(t: TiersUsed): number {
  const selfHosted = t.hosts > 0;
  let hours = 0;
  if (selfHosted) hours += OPS_HOURS.selfHostedFixed + OPS_HOURS.perHost * t.hosts + OPS_HOURS.perFineTuneSelfHosted * t.fineTunes;
  if (t.managed) hours += OPS_HOURS.perApiTier + OPS_HOURS.perFineTuneManaged * t.fineTunes;
  if (t.frontier) hours += OPS_HOURS.perApiTier;
  const tiers = Number(selfHosted) + Number(t.managed) + Number(t.frontier);
  if (tiers >= 2) hours += OPS_HOURS.routing;
  return hours;
}
