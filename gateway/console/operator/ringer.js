/* global document, setInterval, clearInterval, AudioContext, window */
/**
 * Sounds, generated with WebAudio (no sound files): a ringing tone while a kiosk calls and nobody
 * here is in a call, and an alarm tone (two falling notes) that repeats until every open SOS alarm
 * has been acknowledged. The title says what is waiting.
 *
 * Browsers start audio only after a gesture on the page: the context is created (or resumed) on the
 * first pointerdown/keydown anywhere (the login click is one). A page reloaded into a live session
 * has had no gesture: while the context is not running and an alarm could sound (logged in), a large
 * "Click to enable the alarm sound" banner is shown.
 * window.sosConsole.sound = { alarming, alarmBeeps, ringing, context, banner }: for tests.
 */
const sound = { alarming: false, alarmBeeps: 0, ringing: false, context: "none", banner: false };
window.sosConsole = { ...(window.sosConsole ?? {}), sound };

export class Ringer {
  /**
   * @param {() => { ringing: boolean, count: number, alarms: number, armed: boolean }} state `armed`: logged in (an alarm could sound)
   * @param {HTMLElement | null} banner shown while the sound is blocked
   */
  constructor(state, banner = null) {
    this.state = state;
    this.banner = banner;
    this.timer = null;
    this.alarmTimer = null;
    this.ctx = null;
    const unlock = () => this.unlock();
    window.addEventListener("pointerdown", unlock, true);
    window.addEventListener("keydown", unlock, true);
    banner?.addEventListener("click", unlock);
  }

  /** Creates the audio context if it is missing; a context made without a gesture starts suspended. */
  context() {
    if (this.ctx === null && typeof AudioContext === "function") {
      try {
        this.ctx = new AudioContext();
        this.ctx.addEventListener("statechange", () => this.showBanner());
      } catch {
        sound.context = "unavailable";
      }
    }
    return this.ctx;
  }

  /** A gesture: start (or resume) the audio. */
  unlock() {
    const ctx = this.context();
    if (ctx !== null && ctx.state !== "running" && ctx.state !== "closed") ctx.resume().then(() => this.showBanner(), () => this.showBanner());
    this.showBanner();
  }

  showBanner() {
    if (this.ctx !== null) sound.context = this.ctx.state;
    const { armed = false, alarms = 0, ringing = false } = this.state();
    const blocked = this.ctx?.state !== "running" && sound.context !== "unavailable";
    const show = blocked && (armed || alarms > 0 || ringing);
    sound.banner = show;
    if (this.banner !== null) {
      this.banner.hidden = !show;
      this.banner.dataset.alarming = String(alarms > 0 || ringing);
    }
  }

  update() {
    const { ringing, count, alarms = 0, armed = false } = this.state();
    if (armed) this.context();
    // One sound at a time: the alarm tone while an SOS alarm is unacknowledged, else the ring tone.
    const alarming = alarms > 0;
    const ringTone = ringing && !alarming;
    if (ringTone && this.timer === null) {
      this.beep();
      this.timer = setInterval(() => this.beep(), 2_000);
    } else if (!ringTone && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
    if (alarming && this.alarmTimer === null) {
      this.alarm();
      this.alarmTimer = setInterval(() => this.alarm(), 2_500);
    } else if (!alarming && this.alarmTimer !== null) {
      clearInterval(this.alarmTimer);
      this.alarmTimer = null;
    }
    sound.alarming = alarming;
    sound.ringing = ringing;
    this.showBanner();
    const waiting = [count > 0 ? `(${count}) Incoming call` : "", alarms > 0 ? `${alarms} unacknowledged alarm${alarms > 1 ? "s" : ""}` : ""].filter(Boolean);
    document.title = waiting.length > 0 ? `${waiting.join(" · ")} · SOS operator` : "SOS operator";
  }

  beep() {
    this.tone([[880, 0, 0.4]]);
  }

  alarm() {
    sound.alarmBeeps += 1;
    this.tone([
      [1_200, 0, 0.25],
      [800, 0.3, 0.25],
    ]);
  }

  /** Plays [frequency, start, duration] notes (silently dropped while the context is suspended). */
  tone(notes) {
    try {
      const ctx = this.context();
      if (ctx === null) return;
      const now = ctx.currentTime;
      for (const [hz, start, length] of notes) {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        gain.gain.value = 0.2;
        osc.frequency.value = hz;
        osc.connect(gain).connect(ctx.destination);
        osc.start(now + start);
        osc.stop(now + start + length);
      }
    } catch {
      /* no audio output: the screen still shows the alarm */
    }
  }
}
