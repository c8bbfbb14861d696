"""How relevant a text is to the recipe's domain, from embeddings alone, and the band of scores in which
the LLM still has to judge. `sftgen calibrate` fits the band from a labelled sample; `chunk_filter` uses it
to decide the clear cases without a request."""
