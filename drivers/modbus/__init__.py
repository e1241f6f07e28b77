"""Pick-to-light shelf controllers over Modbus RTU or TCP."""
