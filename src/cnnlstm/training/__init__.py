"""Run machinery around Lightning: callbacks that write a run's artifacts, the resumable CSV
logger, atomic ``weights_only`` checkpoint I/O, and the pictures (curves, confusion matrices,
forecasts). Nothing here knows about a particular model or dataset.
"""
