"""The interview booth: audio hygiene and offline speech recognition (asr/), question banks, scoring."""
