import { defineConfig } from "vitest/config";

/**
 * Two lanes, run side by side by `npm test` (scripts/run-tests.sh), each one file at a time.
 * Most of the suite's wall time is real timers, not CPU: the router-extension cases hold
 * minutes of open-loop load and wait out the shipped timeouts (the 13 s first-token limit, the
 * 30 s cooldown), and the live Prometheus case waits for scrapes. Run one file at a time (30 Nov
 * 2026) the suite used about 12 CPU-minutes (user and system) in 24 wall minutes on 2 cores. So the files that wait
 * most form one lane and everything else the other, split to take about the same wall time.
 * A router proxy test never shares the machine with another router proxy test's load.
 *
 * `npx vitest run` without --project runs every file one at a time, as before.
 */
const WAITING = ["test/router-ext/**/*.test.ts", "test/monitoring/live-prometheus.test.ts", "test/lorax/router.test.ts"];
const ALL = "test/**/*.test.ts";

export default defineConfig({
  test: {
    // Pulumi's mock runtime is process-global state: isolate each test file in its own fork.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Together the two lanes are every test file, each exactly once (test/architecture/lanes.test.ts).
    projects: [
      { extends: true, test: { name: "waiting", include: WAITING } },
      { extends: true, test: { name: "main", include: [ALL], exclude: WAITING } },
    ],
  },
});
