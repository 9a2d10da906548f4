#!/usr/bin/env bash
# Regenerates the kiosk's voice prompts, device/prompts/{kk,ru,en}/{prompt}.wav, from
# device/prompts/texts.json with espeak-ng (voices kk, ru, en) and sox.
#
# Needs: node (to read the JSON), espeak-ng and sox. On Debian / Raspberry Pi OS:
#   sudo apt-get install -y espeak-ng sox
# Usage: scripts/generate-prompts.sh [LANGUAGE...]     (default: every language in texts.json)
# Fails when a prompt lasts longer than MAX_SECONDS (default 4.5).
#
# Output: mono, 16-bit signed PCM, 16 kHz, leading and trailing silence trimmed, peak normalised to
# -1 dBFS, 50 ms of silence before (some sound cards clip the first samples) and 100 ms after.
# The agent scales the volume itself (audio.volume in kiosk.json), so the files are at full level.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prompts="$root/device/prompts"
texts="$prompts/texts.json"
rate=16000
max_seconds=${MAX_SECONDS:-4.5}

for tool in node espeak-ng sox soxi; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "generate-prompts: '$tool' not found; install it: sudo apt-get install -y espeak-ng sox (and Node.js)" >&2
    exit 1
  fi
done

# One line per prompt: language <TAB> voice <TAB> words per minute <TAB> prompt <TAB> text
rows="$(node -e '
  const t = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  const only = process.argv.slice(2);
  for (const lang of Object.keys(t.voices)) {
    if (only.length > 0 && !only.includes(lang)) continue;
    for (const [prompt, byLang] of Object.entries(t.prompts)) {
      const text = byLang[lang];
      if (typeof text !== "string" || text.trim() === "") throw new Error(`no ${lang} text for ${prompt}`);
      console.log([lang, t.voices[lang], t.wordsPerMinute[lang] ?? 160, prompt, text.replace(/\s+/g, " ")].join("\t"));
    }
  }
' "$texts" "$@")"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

while IFS=$'\t' read -r lang voice wpm prompt text; do
  mkdir -p "$prompts/$lang"
  out="$prompts/$lang/$prompt.wav"
  printf '%s\n' "$text" >"$tmp/text.txt"
  espeak-ng -v "$voice" -s "$wpm" -f "$tmp/text.txt" -w "$tmp/raw.wav"
  sox -D -V1 "$tmp/raw.wav" -b 16 -e signed-integer -c 1 "$out" \
    silence 1 0.02 0.1% reverse silence 1 0.02 0.1% reverse \
    rate -v "$rate" norm -1 pad 0.05 0.1
  seconds="$(soxi -D "$out")"
  printf '%-3s %-15s %5.2f s  %s\n' "$lang" "$prompt" "$seconds" "$text"
  if awk -v s="$seconds" -v m="$max_seconds" 'BEGIN { exit !(s > m) }'; then
    echo "generate-prompts: $out lasts $seconds s (limit $max_seconds s): shorten the text or raise wordsPerMinute" >&2
    exit 1
  fi
done <<<"$rows"

du -cb "$prompts"/*/*.wav | tail -n 1 | awk '{ printf "total: %d bytes\n", $1 }'
