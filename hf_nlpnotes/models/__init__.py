"""The code that travels to the Hub with saved models: one flat folder, unique file names, and imports of only
torch / transformers / tokenizers / numpy / PIL and same-folder modules (`from .x import Y`)."""
