import { describe, expect, it } from "vitest";
import { AtReader, finalResult, parseCmgrHeader, parseCmti, parseCsq, parseRegistration, splitParams, validSmsText } from "../../shared/modem/at-protocol.js";

describe("AT protocol parsing", () => {
  it("splits lines on any line end and notices the SMS prompt", () => {
    const lines: string[] = [];
    let prompts = 0;
    const reader = new AtReader((l) => lines.push(l), () => (prompts += 1), () => undefined);
    reader.push(Buffer.from("\r\nOK\r\n\r\n+CS"));
    reader.push(Buffer.from("Q: 17,99\r\n\r\n> "));
    expect(lines).toEqual(["OK", "+CSQ: 17,99"]);
    expect(prompts).toBe(1);
  });

  it("drops an endless line", () => {
    let overflow = 0;
    const reader = new AtReader(() => undefined, () => undefined, () => (overflow += 1));
    reader.push(Buffer.alloc(2_000, 0x41));
    expect(overflow).toBe(1);
  });

  it("recognises final results and error codes", () => {
    expect(finalResult("OK")).toEqual({ kind: "ok" });
    expect(finalResult("+CMS ERROR: 331")).toEqual({ kind: "cms", code: 331 });
    expect(finalResult("+CME ERROR: 10")).toEqual({ kind: "cme", code: 10 });
    expect(finalResult("+CME ERROR: SIM not inserted")).toEqual({ kind: "cme", code: -1 });
    expect(finalResult("BUSY")).toEqual({ kind: "call", word: "BUSY" });
    expect(finalResult("+CSQ: 1,2")).toBeNull();
  });

  it("reads registration from an answer and from an unsolicited code", () => {
    expect(parseRegistration("+CREG: 0,5", true)).toBe("roaming");
    expect(parseRegistration('+CEREG: 2,1,"00AB","01A2B3C4",7', true)).toBe("home");
    expect(parseRegistration("+CREG: 3", false)).toBe("denied");
    expect(parseRegistration("+CSQ: 3,1", true)).toBeNull();
  });

  it("reads signal, new-message and message headers", () => {
    expect(parseCsq("+CSQ: 31,99")).toEqual({ csq: 31, signalDbm: -51 });
    expect(parseCsq("+CSQ: 99,99")).toEqual({ csq: null, signalDbm: null });
    expect(parseCmti('+CMTI: "ME",12')).toEqual({ memory: "ME", index: 12 });
    expect(parseCmgrHeader('+CMGR: "REC UNREAD","+7701",,"26/12/05,17:00:00+24"')).toEqual({ from: "+7701", sentAt: "26/12/05,17:00:00+24" });
    expect(splitParams('"a,b",,3')).toEqual(["a,b", "", "3"]);
  });

  it("accepts only one GSM-7-safe SMS", () => {
    expect(validSmsText("SOS1 S k 1 2")).toBeNull();
    expect(validSmsText("")).not.toBeNull();
    expect(validSmsText("a".repeat(161))).not.toBeNull();
    expect(validSmsText("x{y}")).not.toBeNull();
  });
});
