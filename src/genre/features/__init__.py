"""Where features come from: the STFT, the 44 handcrafted features, augmentation, and
featurizing many clips in parallel."""
