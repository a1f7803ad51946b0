"""Interview booths: audio hygiene and offline speech recognition (asr/)."""
