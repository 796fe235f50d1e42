"""Panels of the transport papers: one per paper, numbers, plots and its buttons, no physics."""
