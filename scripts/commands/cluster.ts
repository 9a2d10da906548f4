/**
 * `sos cluster status`: which gateway runs each cluster-wide job (the leases in the store, gateway/
 * cluster/singleton.ts), since when, and until when its lease runs unless renewed. A lease past its
 * time is shown as lapsed: its holder stopped renewing (died), and the next gateway to ask takes it.
 */
import { openCliStore, type StoreOptions } from "../lib/store.js";
import { formatTable } from "../lib/table.js";
import { terminalSafeJson } from "../lib/terminal.js";

export async function runStatus(opts: StoreOptions & { json?: unknown }): Promise<void> {
  const store = await openCliStore(opts, { readonly: true, mustExist: true });
  try {
    const leases = await store.leases.list();
    const now = Date.now();
    if (opts.json === true) {
      process.stdout.write(`${terminalSafeJson(leases.map((l) => ({ ...l, until: new Date(l.until).toISOString(), lapsed: l.until <= now })))}\n`);
      return;
    }
    if (leases.length === 0) {
      process.stdout.write("no cluster job has run yet (a gateway takes each one at its first run)\n");
      return;
    }
    const rows = leases.map((l) => [l.name, l.holder, l.acquiredAt, l.until <= now ? `lapsed ${Math.round((now - l.until) / 1_000)} s ago` : `in ${Math.round((l.until - now) / 1_000)} s`]);
    process.stdout.write(`${formatTable(["JOB", "HELD BY", "SINCE", "LEASE ENDS"], rows)}\n`);
  } finally {
    await store.close();
  }
}
