"""zos-gridtypes."""
