"""The classifiers: the architecture registry, Keras networks, the baseline, training, their
inputs, model descriptions, predictions tables and voting."""
