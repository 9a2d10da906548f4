/** What every self-test check is: a name, and a run that says pass, fail or not applicable, and why. */
import type { SelfTestName, SelfTestResult } from "../../../shared/health.js";

export interface CheckOutcome {
  readonly result: SelfTestResult["result"];
  readonly detail: string;
  readonly measurements?: Record<string, number>;
}

export interface SelfCheck {
  readonly name: SelfTestName;
  /** Never rejects for a hardware fault (that is a "fail"); stops early when signal aborts. */
  run(signal: AbortSignal): Promise<CheckOutcome>;
}

export const notApplicable = (name: SelfTestName, detail: string): SelfCheck => ({
  name,
  run: () => Promise.resolve({ result: "not-applicable", detail }),
});

/** Resolves after ms, or at once when the signal aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
