"""What the analysis knows about the world: platforms and CPU levels (`arch`), image manifests and
indexes (`manifests`, `platforms_check`), runtime error dialects (`signatures`)."""
