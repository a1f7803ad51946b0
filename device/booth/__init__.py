"""The interview booth: check-in, notice and consent, questions answered by voice or typing, durable
recording and transcripts, scoring at the end, the interview-result record, candidate rights."""
