"""Converters from other libraries' checkpoints to hf_nlpnotes folders (not shipped to the Hub)."""
