/* global document, setInterval, clearInterval, AudioContext */
/** A ringing tone and a title that says so, while a kiosk calls and nobody here is in a call. */
export class Ringer {
  /** @param {() => { ringing: boolean, count: number }} state */
  constructor(state) {
    this.state = state;
    this.timer = null;
    this.ctx = null;
  }

  update() {
    const { ringing, count } = this.state();
    if (ringing && this.timer === null) {
      this.beep();
      this.timer = setInterval(() => this.beep(), 2_000);
    } else if (!ringing && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
    document.title = count > 0 ? `(${count}) Incoming call · SOS operator` : "SOS operator";
  }

  beep() {
    try {
      this.ctx ??= new AudioContext();
      const osc = this.ctx.createOscillator();
      const gain = this.ctx.createGain();
      gain.gain.value = 0.2;
      osc.frequency.value = 880;
      osc.connect(gain).connect(this.ctx.destination);
      osc.start();
      osc.stop(this.ctx.currentTime + 0.4);
    } catch {
      /* no audio output: the screen still shows the call */
    }
  }
}
