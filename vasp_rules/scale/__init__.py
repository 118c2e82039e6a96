"""Population scale: JSON Lines streams, a persistent process pool, Dask (optional)."""
