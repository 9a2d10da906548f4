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
