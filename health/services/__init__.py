"""Writes of the health app, one module per part: scoring (the SQL), scores (running it and
writing the results), overrides, scorecards (the editor and publishing)."""
