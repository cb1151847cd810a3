"""Gigabit: white / grey spots per address under the federal funding rules, the market-exploration procedure
(Markterkundungsverfahren), funding areas and reports. Pure functions; the registry does the I/O."""
