"""Camera, microphone and GPIO adapters: a small Protocol each, real adapters, explicit fakes."""
