"""Simulation: scenarios, the tier-choice model, forecasts and sensitivity."""
