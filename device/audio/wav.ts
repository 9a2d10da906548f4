/**
 * RIFF/WAVE parsing and volume scaling for the voice prompts. Chunks are walked properly (fmt and
 * data are found wherever they are, LIST and other chunks are skipped, odd sizes are padded), and
 * only 16-bit integer PCM is accepted: the agent scales those samples itself before aplay gets them.
 */

export class WavError extends Error {
  override readonly name = "WavError";
}

export interface WavFormat {
  /** 1 = integer PCM (also reported for WAVE_FORMAT_EXTENSIBLE with the PCM sub-format). */
  readonly audioFormat: number;
  readonly channels: number;
  readonly sampleRate: number;
  readonly bitsPerSample: number;
  readonly blockAlign: number;
}

export interface WavInfo extends WavFormat {
  /** Byte offset of the first sample in the buffer. */
  readonly dataOffset: number;
  /** Bytes of sample data (a whole number of frames, clamped to what the buffer holds). */
  readonly dataLength: number;
  readonly frames: number;
  readonly durationMs: number;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

function fourCC(buf: Buffer, offset: number): string {
  return buf.toString("latin1", offset, offset + 4);
}

function readFormat(buf: Buffer, offset: number, size: number): WavFormat {
  if (size < 16) throw new WavError(`fmt chunk too short (${size} bytes)`);
  let audioFormat = buf.readUInt16LE(offset);
  // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID.
  if (audioFormat === WAVE_FORMAT_EXTENSIBLE && size >= 40) audioFormat = buf.readUInt16LE(offset + 24);
  return {
    audioFormat,
    channels: buf.readUInt16LE(offset + 2),
    sampleRate: buf.readUInt32LE(offset + 4),
    blockAlign: buf.readUInt16LE(offset + 12),
    bitsPerSample: buf.readUInt16LE(offset + 14),
  };
}

/** Parses a WAV file's header. Throws WavError when it is not a RIFF/WAVE file or lacks fmt/data. */
export function parseWav(buf: Buffer): WavInfo {
  if (buf.length < 12 || fourCC(buf, 0) !== "RIFF" || fourCC(buf, 8) !== "WAVE") {
    throw new WavError("not a RIFF/WAVE file");
  }
  let format: WavFormat | undefined;
  let offset = 12;
  while (offset + 8 <= buf.length) {
    const id = fourCC(buf, offset);
    const size = buf.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === "fmt ") {
      if (body + size > buf.length) throw new WavError("fmt chunk runs past the end of the file");
      format = readFormat(buf, body, size);
    } else if (id === "data") {
      if (format === undefined) throw new WavError("data chunk before the fmt chunk");
      if (format.channels < 1 || format.sampleRate < 1 || format.blockAlign < 1) {
        throw new WavError(`invalid fmt chunk (channels ${format.channels}, rate ${format.sampleRate}, blockAlign ${format.blockAlign})`);
      }
      // A streamed WAV may carry 0 or 0xFFFFFFFF as its size: take what the file holds.
      const available = buf.length - body;
      const declared = size === 0 || size === 0xffffffff ? available : Math.min(size, available);
      const dataLength = declared - (declared % format.blockAlign);
      const frames = dataLength / format.blockAlign;
      return { ...format, dataOffset: body, dataLength, frames, durationMs: (frames / format.sampleRate) * 1_000 };
    }
    offset = body + size + (size % 2);
  }
  throw new WavError(format === undefined ? "no fmt chunk" : "no data chunk");
}

/** Refuses anything but 16-bit integer PCM, with a reason a person can act on. */
export function assertPcm16(info: WavFormat): void {
  if (info.audioFormat !== WAVE_FORMAT_PCM) {
    throw new WavError(`unsupported WAV encoding ${info.audioFormat} (only 16-bit integer PCM, format 1, is supported)`);
  }
  if (info.bitsPerSample !== 16 || info.blockAlign !== info.channels * 2) {
    throw new WavError(`unsupported sample size ${info.bitsPerSample} bits (only 16-bit PCM is supported)`);
  }
}

/** A canonical 44-byte header for 16-bit PCM data of `dataLength` bytes. */
export function pcm16Header(channels: number, sampleRate: number, dataLength: number): Buffer {
  const header = Buffer.alloc(44);
  header.write("RIFF", 0, "latin1");
  header.writeUInt32LE(36 + dataLength, 4);
  header.write("WAVE", 8, "latin1");
  header.write("fmt ", 12, "latin1");
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(WAVE_FORMAT_PCM, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36, "latin1");
  header.writeUInt32LE(dataLength, 40);
  return header;
}

/** Builds a 16-bit PCM WAV from samples (interleaved when channels > 1). */
export function encodePcm16(samples: ArrayLike<number>, sampleRate: number, channels = 1): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i += 1) data.writeInt16LE(samples[i] ?? 0, i * 2);
  return Buffer.concat([pcm16Header(channels, sampleRate, data.length), data]);
}

/** The samples of a 16-bit PCM WAV (interleaved), for tests and checks. */
export function pcm16Samples(buf: Buffer): Int16Array {
  const info = parseWav(buf);
  assertPcm16(info);
  const out = new Int16Array(info.dataLength / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = buf.readInt16LE(info.dataOffset + i * 2);
  return out;
}

/**
 * Returns a canonical WAV (44-byte header, the data chunk only) with every sample multiplied by
 * volume/100 (0..100; linear, rounded, clamped to the 16-bit range). Throws WavError for anything
 * but 16-bit PCM.
 */
export function scaleWav(buf: Buffer, volume: number): Buffer {
  const info = parseWav(buf);
  assertPcm16(info);
  const gain = Math.min(100, Math.max(0, volume)) / 100;
  const out = Buffer.alloc(44 + info.dataLength);
  pcm16Header(info.channels, info.sampleRate, info.dataLength).copy(out, 0);
  if (gain === 1) {
    buf.copy(out, 44, info.dataOffset, info.dataOffset + info.dataLength);
  } else if (gain > 0) {
    for (let i = 0; i < info.dataLength; i += 2) {
      const scaled = Math.round(buf.readInt16LE(info.dataOffset + i) * gain);
      out.writeInt16LE(Math.max(-32_768, Math.min(32_767, scaled)), 44 + i);
    }
  }
  return out;
}
