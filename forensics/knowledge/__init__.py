"""What the analysis knows about the world: platforms and CPU levels (`arch`), image manifests and
indexes (`manifests`), runtime error dialects (`signatures`). It reads no dump and imports no other stage."""
