/* global document, setInterval, clearInterval, AudioContext, window */
/**
 * Sounds, generated with WebAudio (no sound files): a ringing tone while a kiosk calls and nobody
 * here is in a call, and an alarm tone (two falling notes) that repeats until every open SOS alarm
 * has been acknowledged. The title says what is waiting. window.sosConsole.sound: for tests.
 */
const sound = { alarming: false, alarmBeeps: 0, ringing: false };
window.sosConsole = { ...(window.sosConsole ?? {}), sound };

export class Ringer {
  /** @param {() => { ringing: boolean, count: number, alarms: number }} state */
  constructor(state) {
    this.state = state;
    this.timer = null;
    this.alarmTimer = null;
    this.ctx = null;
  }

  update() {
    const { ringing, count, alarms = 0 } = this.state();
    if (ringing && this.timer === null) {
      this.beep();
      this.timer = setInterval(() => this.beep(), 2_000);
    } else if (!ringing && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
    // The alarm tone pauses while the call rings (one sound at a time), and resumes after.
    const alarming = alarms > 0 && !ringing;
    if (alarming && this.alarmTimer === null) {
      this.alarm();
      this.alarmTimer = setInterval(() => this.alarm(), 2_500);
    } else if (!alarming && this.alarmTimer !== null) {
      clearInterval(this.alarmTimer);
      this.alarmTimer = null;
    }
    sound.alarming = alarming;
    sound.ringing = ringing;
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

  /** Plays [frequency, start, duration] notes. */
  tone(notes) {
    try {
      this.ctx ??= new AudioContext();
      const now = this.ctx.currentTime;
      for (const [hz, start, length] of notes) {
        const osc = this.ctx.createOscillator();
        const gain = this.ctx.createGain();
        gain.gain.value = 0.2;
        osc.frequency.value = hz;
        osc.connect(gain).connect(this.ctx.destination);
        osc.start(now + start);
        osc.stop(now + start + length);
      }
    } catch {
      /* no audio output: the screen still shows the alarm */
    }
  }
}
