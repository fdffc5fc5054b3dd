"""Loaders for the real corpora the examples train on (see README, "Data"). Not shipped to the Hub."""
