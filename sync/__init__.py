"""The link to the centre: MQTT session, outbox publisher, message contract and consumers."""
