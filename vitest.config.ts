import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          sequence: { groupOrder: 0 },
          testTimeout: 10_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          sequence: { groupOrder: 1 },
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Real brokers, sockets and child processes: keep the 2-core machine from oversubscribing.
          maxWorkers: 2,
          fileParallelism: true,
        },
      },
      {
        test: {
          // Real PostgreSQL (SOS_TEST_PG, default 127.0.0.1:5432 user postgres): `npm run test:pg`.
          name: "pg",
          include: ["test/pg/**/*.test.ts"],
          sequence: { groupOrder: 3 },
          testTimeout: 60_000,
          hookTimeout: 60_000,
          maxWorkers: 2,
          fileParallelism: true,
        },
      },
      {
        test: {
          // Several gateway nodes: real redis-server processes of the tests' own (and PostgreSQL): `npm run test:cluster`.
          name: "cluster",
          include: ["test/cluster/**/*.test.ts"],
          sequence: { groupOrder: 4 },
          testTimeout: 120_000,
          hookTimeout: 60_000,
          maxWorkers: 1,
          fileParallelism: false,
        },
      },
      {
        test: {
          // The kiosk's release on the Pi's CPU: arm64 Node under qemu-user (`npm run test:arm64`; CI prepares qemu).
          name: "arm64",
          include: ["test/arm64/**/*.test.ts"],
          sequence: { groupOrder: 5 },
          testTimeout: 300_000,
          hookTimeout: 900_000,
          maxWorkers: 1,
          fileParallelism: false,
        },
      },
      {
        test: {
          // Real ffmpeg, wrtc and (later) Chromium: run by `npm run test:e2e`, not by `npm test`.
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          sequence: { groupOrder: 2 },
          testTimeout: 60_000,
          hookTimeout: 60_000,
          maxWorkers: 1,
          fileParallelism: false,
        },
      },
    ],
  },
});
