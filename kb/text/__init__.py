"""Text matching shared by checks and site: where quotes are, how they drifted, what changed."""
