"""Processing of datasets: derived channels, levelling, display copies. Each step records provenance."""
