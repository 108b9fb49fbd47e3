"""Text layer: normalisation with offset maps, tokenizer backends, sentences and quotes."""
