"""The interview booth: question banks, scoring, (speech recognition in asr/)."""
