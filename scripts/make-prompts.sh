#!/usr/bin/env bash
# make-prompts.sh OUTDIR MOHDIR
#
# Generates the sandbox's audio: speech prompts (espeak-ng), test-tone prompts and the
# music-on-hold tone. Everything is 8 kHz mono 16-bit PCM WAV, the native format of
# Asterisk's format_wav, so Playback()/MOH never transcode or resample at call time.
#
# Idempotent: a stamp file in OUTDIR holds a hash of everything that determines the
# output (this script, the prompt texts, tool versions); when it matches and every file
# exists, nothing is regenerated.
set -euo pipefail

usage() { echo "usage: $0 OUTDIR MOHDIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
OUTDIR=$1
MOHDIR=$2

ANNOUNCEMENT_TEXT=${CALLREC_ANNOUNCEMENT_TEXT:-"This call will be recorded for training and quality purposes."}

# name|text. The names are the Playback() names the controller uses ("callrec/<name>").
# The outbound disclosure is not among them: the dialer renders its configured text itself at
# start-up ([dialer] disclosure_text, src/callrec/dialer/prompts.py), so that what a client hears
# is what the disclosure's proof cites.
SPEECH=(
  "announcement|${ANNOUNCEMENT_TEXT}"
  "enter-client-number|Please enter your client number, followed by the hash key."
  "invalid-client-number|Sorry, that number was not recognised."
  "no-client-number|We could not get your client number. Please hold for the next available person."
  "please-hold|Please hold, the next available person will be with you shortly."
)

# name|seconds|Hz|dBFS. 2800 Hz marks "a prompt is playing" in recordings (docs/architecture.md).
TONES=(
  "tone-announcement|1.0|2800|-10"
  "tone-prompt|0.6|2800|-10"
)
MOH_TONE="tone-1800|10|1800|-10"

# Output format options for sox: 8 kHz, mono, signed 16-bit PCM.
SOX_OUT=(-r 8000 -c 1 -b 16 -e signed-integer)

spec_hash() {
  {
    sha256sum "${BASH_SOURCE[0]}"
    printf '%s\n' "${SPEECH[@]}" "${TONES[@]}" "$MOH_TONE"
    espeak-ng --version
    sox --version
  } | sha256sum | cut -d' ' -f1
}

all_present() {
  local entry
  for entry in "${SPEECH[@]}" "${TONES[@]}"; do
    [[ -s "$OUTDIR/${entry%%|*}.wav" ]] || return 1
  done
  [[ -s "$MOHDIR/${MOH_TONE%%|*}.wav" ]]
}

# Speech: espeak-ng renders at 22.05 kHz; sox resamples and normalises to -3 dBFS so every
# prompt has the same loudness whatever its text.
make_speech() {
  local name=$1 text=$2 tmp
  tmp=$(mktemp --suffix=.wav)
  espeak-ng -v en-gb -s 160 -w "$tmp" "$text"
  sox "$tmp" "${SOX_OUT[@]}" "$OUTDIR/$name.wav.tmp.wav" norm -3
  mv -f "$OUTDIR/$name.wav.tmp.wav" "$OUTDIR/$name.wav"
  rm -f "$tmp"
}

# Tone: a pure sine; synth produces a full-scale sine, 'gain' sets the peak level in dBFS.
make_tone() {
  local dir=$1 name=$2 seconds=$3 hz=$4 dbfs=$5
  sox -n "${SOX_OUT[@]}" "$dir/$name.wav.tmp.wav" synth "$seconds" sine "$hz" gain "$dbfs"
  mv -f "$dir/$name.wav.tmp.wav" "$dir/$name.wav"
}

main() {
  command -v espeak-ng >/dev/null || { echo "make-prompts: espeak-ng missing" >&2; exit 1; }
  command -v sox >/dev/null || { echo "make-prompts: sox missing" >&2; exit 1; }
  mkdir -p "$OUTDIR" "$MOHDIR"
  local stamp="$OUTDIR/.make-prompts.stamp" want entry name rest
  want=$(spec_hash)
  if [[ -f $stamp && $(cat "$stamp") == "$want" ]] && all_present; then
    return 0
  fi
  for entry in "${SPEECH[@]}"; do
    make_speech "${entry%%|*}" "${entry#*|}"
  done
  for entry in "${TONES[@]}"; do
    name=${entry%%|*}; rest=${entry#*|}
    IFS='|' read -r secs hz db <<<"$rest"
    make_tone "$OUTDIR" "$name" "$secs" "$hz" "$db"
  done
  IFS='|' read -r name secs hz db <<<"$MOH_TONE"
  make_tone "$MOHDIR" "$name" "$secs" "$hz" "$db"
  # Asterisk runs as an unprivileged user inside the chroot: files must be world-readable.
  chmod 0644 "$OUTDIR"/*.wav "$MOHDIR"/*.wav
  echo "$want" >"$stamp"
  echo "make-prompts: generated prompts in $OUTDIR and MOH in $MOHDIR"
}

main
