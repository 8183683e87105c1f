"""Training the line recognizer the `trocr` engine runs: data sources, the model and its
tokenizer, the Ray Train loop, evaluation and the model card."""
