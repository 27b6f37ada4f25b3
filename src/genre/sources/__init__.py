"""Where the clips come from: the synthetic generator, GTZAN downloads, local folders."""
