import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Pulumi's mock runtime is process-global state: isolate each test file in its own fork.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
