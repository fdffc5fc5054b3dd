"""The example recipes, shipped inside the package so that `hf-nlpnotes train` works after any install."""
