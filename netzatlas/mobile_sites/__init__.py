"""Mobile sites: sites and sectors (with documented defaults where the registry does not know a parameter), the
coverage run, mast-request evaluation and small-cell screening. Pure functions over the coverage engine."""
