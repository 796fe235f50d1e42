"""Panels of the transport papers: each shows one paper's analysis of a series with its numbers."""
