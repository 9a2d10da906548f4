/**
 * The gateway store's URL (`--store`, `SOS_STORE_URL`, `store.url`): none means SQLite in the data
 * folder; `postgres://` or `postgresql://` means PostgreSQL, in libpq's form, which may name several
 * hosts (`postgres://sos@db1,db2:5433/sos?target_session_attrs=read-write`). WHATWG's URL parser
 * refuses several host:port pairs, so the URL is read here by its parts.
 */
export const STORE_URL_EXAMPLE = "postgres://USER:PASSWORD@HOST[:PORT][,HOST2[:PORT]]/DATABASE";

const STORE_URL = /^(postgres(?:ql)?):\/\/(?:([^@/?#]*)@)?([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/;

/** What is wrong with a store URL, or null when it can be used. */
export function storeUrlProblem(url: string): string | null {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
  if (scheme === undefined) return `is not a URL: give a PostgreSQL URL such as ${STORE_URL_EXAMPLE} (or leave --store out to use SQLite in --data-dir)`;
  if (!/^postgres(ql)?$/i.test(scheme)) return `has the scheme '${scheme}:', and only postgres:// or postgresql:// are stores: give ${STORE_URL_EXAMPLE} (or leave --store out to use SQLite in --data-dir)`;
  const parts = STORE_URL.exec(url);
  if (parts === null) return `cannot be read: write it as ${STORE_URL_EXAMPLE}`;
  const hosts = parts[3] ?? "";
  if (hosts === "" || hosts.split(",").some((h) => h === "" || !/^(\[[0-9a-f:.]+\]|[^:[\]]+)(:\d{1,5})?$/i.test(h))) {
    return `names no host, or a host it cannot read ('${hosts}'): write it as ${STORE_URL_EXAMPLE}`;
  }
  const database = (parts[4] ?? "").slice(1);
  if (database === "") return `names no database: add it after the host, as in ${STORE_URL_EXAMPLE}`;
  return null;
}

/** The URL for logs and messages: the password replaced by ***. */
export function redactStoreUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/?#]*):[^@/?#]*@/i, "$1:***@").replace(/([?&]password=)[^&#]*/i, "$1***");
}
