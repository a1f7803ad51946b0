"""edgehr device side: everything that runs on an attendance terminal or interview booth."""
