"""Charging: distance from homes to the nearest public charger (straight and along roads), supply per 1,000
inhabitants, gaps, and siting of new locations. Pure functions; the registry does the I/O."""
