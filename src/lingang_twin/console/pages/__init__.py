"""The console's own pages: overview, entity explorer, entity page and map (one module each)."""
