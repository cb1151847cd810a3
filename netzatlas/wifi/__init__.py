"""Public WLAN: today's hotspot coverage, uncovered demand, priority areas and new access-point siting (pure)."""
