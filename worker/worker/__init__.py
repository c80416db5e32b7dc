"""The browser worker: claims sessions from the job plane and runs them in Chromium."""
